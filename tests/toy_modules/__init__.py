"""Modules defined outside popsim for the tests of the module contract: importable by
worker processes (the tests folder is on their path), registered only by the tests."""
