// `speakernet train --nproc N`: a torchrun-like local launcher. It re-executes this program
// (/proc/self/exe) N times with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1
// and a free MASTER_PORT set, waits for all of them, and when one fails terminates the others
// (they would otherwise block in a collective until the timeout) and reports which rank failed.
#pragma once

#include <string>
#include <vector>

namespace speakernet {

// Returns 0 when every worker exited 0, else 1 (after logging the failing rank and its status).
// `argv` is the full worker command line, argv[0] included; master_port 0 = pick a free port.
int LaunchLocalWorkers(int nproc, const std::vector<std::string>& argv, int master_port = 0);

// This process's command line as the kernel recorded it (/proc/self/cmdline).
std::vector<std::string> OwnCommandLine();

}  // namespace speakernet
