// For the fuzz targets that read through LibTorch (torch_save, model_package, wespeaker_release).
#pragma once

#include <c10/util/Logging.h>

#include <functional>
#include <string>
#include <type_traits>

namespace speakernet::fuzz {

template <class T>
struct FetcherResult;
template <class R>
struct FetcherResult<void (*)(std::function<R()>)> {
  using type = R;
};

// Every c10::Error (e.g. LibTorch's zip reader rejecting a damaged archive) symbolises a
// backtrace when it is constructed: about 20 ms per rejected input, 100x the cost of the read
// itself. The fuzz targets do not print those backtraces, so they fetch none. Only where the
// fetcher returns a plain string (LibTorch 1.x-2.4); later versions are left as they are.
inline void SkipTorchErrorBacktraces() {
  using Result = typename FetcherResult<decltype(&c10::SetStackTraceFetcher)>::type;
  if constexpr (std::is_same_v<Result, std::string>) {
    c10::SetStackTraceFetcher([] { return std::string("(backtrace not fetched by the fuzzer)"); });
  }
}

}  // namespace speakernet::fuzz
