"""QEMU's option syntax, for tests that read command lines."""


def split_opts(s):
    """The parts of an option value: split on ',', where ',,' is a literal
    comma."""
    parts, cur, i = [], "", 0
    while i < len(s):
        if s[i] == ",":
            if s[i + 1:i + 2] == ",":
                cur += ","
                i += 2
                continue
            parts.append(cur)
            cur = ""
        else:
            cur += s[i]
        i += 1
    parts.append(cur)
    return parts
