//! Home of the end-to-end tests in `tests/tests/`.
