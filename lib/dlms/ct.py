# Constant-time comparison, for everything secret that is compared: GCM tags, LLS passwords,
# HLS replies, key-wrap integrity values. Owns nothing else.


def equal(a, b):
    """True when the byte strings are equal; the time taken depends on their lengths only."""
    if len(a) != len(b):
        return False
    acc = 0
    for i in range(len(a)):
        acc |= a[i] ^ b[i]
    return acc == 0
