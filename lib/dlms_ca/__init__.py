# Host-side certificate authority and PEM tooling for the public-key part (lib/dlms_ca/ca.py):
# the virtual meter's demo CA, tools and tests. Never on a board.
