#!/usr/bin/env bash
# Command-line test of multi-process data-parallel training (`speakernet train --nproc 2`, Gloo on
# 127.0.0.1) on a tiny synthetic corpus (3 speakers x 4 tones in noise) and a tiny ResNet:
#   * both ranks finish with identical parameters (the trainer checks it and logs
#     "ranks in sync ... = 0"); only rank 0 writes checkpoints, rank 1 logs to train.rank1.log;
#     sync BN is on by default and logged;
#   * a 2-process run stopped after 3 steps and resumed with --resume gives a final model.pt
#     bit-identical to an uninterrupted 2-process run (compared with torch);
#   * two processes started by hand with torchrun's variables train together;
#   * a failing worker (SPEAKERNET_TEST_FAIL_RANK=1) makes the launcher exit non-zero naming the
#     rank; a world size that does not divide loader.batch_size is an error naming the key.
#
#   bash tests/train_cli_test.sh SPEAKERNET_BINARY [SOURCE_DIR]
# Needs /usr/bin/python3 with numpy and torch (corpus, model comparison); exit 77 (skip) without.
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_tail=30
cli_test_init train_cli "$@"
cli_test_require_python numpy torch

# --- corpus ----------------------------------------------------------------------------------
data=$work/data
cli_test_tone_corpus "$data"
cli_test_tiny_train "$data"

# --- 2 processes: in sync, rank 0 writes -----------------------------------------------------
run "train --nproc 2" "$bin" train --nproc 2 --exp "$work/full" "${tiny[@]}"
contains "$work/last.err" "launcher: all 2 workers finished" "launcher reports success"
contains "$work/full/train.log" "ranks in sync, max |parameter - rank 0| = 0" "rank 0 in sync"
contains "$work/full/train.rank1.log" "ranks in sync, max |parameter - rank 0| = 0" \
  "rank 1 in sync"
contains "$work/full/train.log" "2 ranks (gloo), global batch 4 = 2 per rank" "sharding logged"
# trainer.sync_bn defaults to on (speaker-net's SyncBatchNorm under DDP).
contains "$work/full/train.log" "sync_bn on: BatchNorm statistics over the global batch" \
  "sync BN logged"
[[ -f $work/full/checkpoints/epoch-2/model.pt ]] || fail "no final checkpoint"
pass
[[ -z $(find "$work/full/checkpoints" -name '*.tmp.*') ]] || fail "temporary checkpoint left"
pass
[[ $(grep -c '^[0-9]' "$work/full/train_log.csv") -gt 0 ]] || fail "rank 0 wrote no train_log.csv"
pass

# --- stop after 3 steps, resume: same final model as uninterrupted ----------------------------
run "train --nproc 2, stopped" "$bin" train --nproc 2 --exp "$work/split" "${tiny[@]}" \
  --trainer.max_iters=3
run "train --nproc 2 --resume" "$bin" train --nproc 2 --exp "$work/split" --data "$data" --resume \
  --trainer.max_iters=0
contains "$work/split/train.log" "resumed from" "resume logged"
run "resumed == uninterrupted" $py "$src/tests/lib/same_state_dicts.py" \
  "$work/full/checkpoints/epoch-2/model.pt" "$work/split/checkpoints/epoch-2/model.pt"

# --- torchrun-style: two processes started by hand with RANK/WORLD_SIZE/MASTER_* -------------
echo "== torchrun-style environment (at $((SECONDS - start)) s)"
port=$($py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for r in 0 1; do
  RANK=$r LOCAL_RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    "$bin" train --exp "$work/env" "${tiny[@]}" --trainer.epochs=1 >"$work/env.$r.out" 2>&1 &
  pids[$r]=$!
done
for r in 0 1; do wait "${pids[$r]}" || { cat "$work/env.$r.out" >&2; fail "rank $r exited non-zero"; }; done
pass
contains "$work/env/train.log" "ranks in sync, max |parameter - rank 0| = 0" "env-launched ranks in sync"
grep -q "ranks in sync" "$work/env.1.out" && fail "rank 1 wrote info lines to the console"
pass

# --- failures ----------------------------------------------------------------------------------
expect_failure "a worker fails" "launcher: worker rank 1 failed" \
  env SPEAKERNET_TEST_FAIL_RANK=1 "$bin" train --nproc 2 --exp "$work/fail" "${tiny[@]}"
contains "$work/last.err" "training failed: rank 1 of 2" "launcher summary names the rank"
expect_failure "world size does not divide the batch" "must be divisible by the world size 3" \
  "$bin" train --nproc 3 --exp "$work/bad" "${tiny[@]}"

echo "PASS: $checks checks in $((SECONDS - start)) s"
