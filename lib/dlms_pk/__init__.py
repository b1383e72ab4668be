# Public-key security for dlms (optional on a board: `make mpy BOARD=... WITH=pk`, or the
# boards' manifest_pk.py): elliptic curves P-256/P-384 with ECDSA and ECDH (ec), SHA-256/384 and
# HMAC (sha2).
