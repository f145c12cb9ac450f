#!/usr/bin/python3
"""The two binary files a Windows-shaped test disk needs that no Debian
package ships, written from their format documentation:

  win-shaped.py hive FILE   an empty registry hive: the regf base block and
                            one hbin holding the root key (nk) and its
                            security record (sk); hivexregedit --merge then
                            fills it.  Layout: hivex's lib/hivex-internal.h
                            (struct ntreg_header, ntreg_hbin_page,
                            ntreg_nk_record, ntreg_sk_record) and libyal's
                            "Windows NT Registry File (REGF) format".
  win-shaped.py pe64 FILE   a PE32+ x86-64 console executable header (the
                            MZ stub, the "PE" signature, the COFF header and
                            the optional header), which is what file(1), and
                            so libguestfs's inspection, reads to find a
                            Windows guest's architecture from cmd.exe.

Neither is Windows: this is for synthetic test disks only (see
tests/integration/inspect-windows.sh)."""
import struct
import sys

HBIN = 0x1000
FILETIME = 0x01DB0000_00000000      # some time in 2024


def empty_hive():
    # hbin: header, root nk at 0x20, sk at 0x80, the rest one free cell.
    nk_name = b"ROOT"
    nk = struct.pack("<2sHQIIIIIIIIIIHHIIIIHH", b"nk", 0x2C, FILETIME, 0,
                     0, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0xFFFFFFFF,
                     0x80, 0xFFFFFFFF, 0, 0, 0, 0, 0, 0, len(nk_name), 0)
    nk += nk_name
    nk_cell = struct.pack("<i", -0x60) + nk.ljust(0x5C, b"\0")
    # A self-relative security descriptor with no owner, group or ACLs.
    sd = struct.pack("<BBHIIII", 1, 0, 0x8000, 0, 0, 0, 0)
    sk = struct.pack("<2sHIIII", b"sk", 0, 0x80, 0x80, 1, len(sd)) + sd
    sk_cell = struct.pack("<i", -0x30) + sk.ljust(0x2C, b"\0")
    body = nk_cell + sk_cell
    free = HBIN - 0x20 - len(body)
    page = struct.pack("<4sIIQQI", b"hbin", 0, HBIN, 0, FILETIME, 0)
    page += body + struct.pack("<i", free) + b"\0" * (free - 4)
    assert len(page) == HBIN

    base = struct.pack("<4sIIQIIIIIII", b"regf", 1, 1, FILETIME, 1, 3, 0,
                       1, 0x20, HBIN, 1)
    base += "\\??\\C:\\Windows\\System32\\config\\X".encode("utf-16-le")
    base = base.ljust(0x1FC, b"\0")
    csum = 0
    for (d,) in struct.iter_unpack("<I", base):
        csum ^= d
    base += struct.pack("<I", csum)
    return base.ljust(0x1000, b"\0") + page


def pe64():
    mz = b"MZ" + b"\0" * 0x3A + struct.pack("<I", 0x40)
    coff = struct.pack("<4sHHIIIHH", b"PE\0\0", 0x8664, 0, 0, 0, 0, 0xF0,
                       0x0022)
    opt = struct.pack("<HBBIIIII", 0x20B, 14, 0, 0, 0, 0, 0x1000, 0x1000)
    opt += struct.pack("<QIIHHHHHHIIIIHHQQQQII", 0x140000000, 0x1000, 0x200,
                       10, 0, 10, 0, 10, 0, 0, 0x2000, 0x400, 0, 3, 0x8160,
                       0x100000, 0x1000, 0x100000, 0x1000, 0, 16)
    opt = opt.ljust(0xF0, b"\0")
    return (mz + coff + opt).ljust(1024, b"\0")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("hive", "pe64"):
        sys.exit("usage: win-shaped.py hive|pe64 FILE")
    data = empty_hive() if sys.argv[1] == "hive" else pe64()
    with open(sys.argv[2], "wb") as f:
        f.write(data)


main()
