// Linked into every executable together with jemalloc. jemalloc reads this symbol at start-up:
// keep freed pages instead of returning them to the kernel. With glibc malloc (or jemalloc's
// default decay) a training step page-faults millions of fresh pages; keeping them made
// training 1.15-1.9x faster on Debian's LibTorch (measured, see README). MALLOC_CONF in the
// environment still overrides this.
extern "C" {
const char* malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";
}
