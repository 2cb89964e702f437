// Replaced by the mock's tests.
