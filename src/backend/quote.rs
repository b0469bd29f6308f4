//! Quoting, one function per format, each tested against that format's real parser rules
//! (distro-matrix.md §3).
