// libspeakernet.so is made of the layer libraries (linked whole); a shared library target needs
// one source of its own.
