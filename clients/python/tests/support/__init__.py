"""Test support: the KMS ECDH proxy, a version 2 writer and the vector generator."""
