// Tests only: sets the OpenMP thread count for a scope, for tests of OpenMP-threaded code that
// compare results across thread counts. Declares the two libgomp functions weak (no <omp.h>, so
// that a test binary without libgomp still links); do not include it together with <omp.h>.
#pragma once

// Set only when libgomp is linked (OpenMP-threaded code under test).
extern "C" void omp_set_num_threads(int) __attribute__((weak));
extern "C" int omp_get_max_threads() __attribute__((weak));

namespace speakernet::test {

// Sets the OpenMP thread count for a scope (a no-op where libgomp is not linked).
class ScopedOmpThreads {
 public:
  explicit ScopedOmpThreads(int n) {
    if (omp_set_num_threads != nullptr && omp_get_max_threads != nullptr) {
      old_ = omp_get_max_threads();
      omp_set_num_threads(n);
    }
  }
  ~ScopedOmpThreads() {
    if (old_ > 0) omp_set_num_threads(old_);
  }
  ScopedOmpThreads(const ScopedOmpThreads&) = delete;
  ScopedOmpThreads& operator=(const ScopedOmpThreads&) = delete;

 private:
  int old_ = 0;
};

}  // namespace speakernet::test
