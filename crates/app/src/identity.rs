//! (filled in by the use cases of this area)
