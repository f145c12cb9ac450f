# Hostile guests on the built-in VMM, run where it really runs here: the
# nested engine (the VMM inside the hypervisor appliance, under QEMU with
# an emulated SVM where the host has no usable KVM), in its sandboxed child
# process.  Each guest is a boot sector (SeaBIOS loads it) that attacks the
# VMM.  These run until the guest's timeout, which must end them with a
# clear reason from the VMM's own run loop (not its watchdog, not a crash,
# not a sandbox kill); the console log stays bounded:
#   overlap  virtio-blk requests whose data lands on the available ring
#            and on the next request's header: every request publishes
#            the next one, forever (the notify loop that never returned
#            to KVM_RUN); the device serves a queue's worth per notify
#   spin     cli; jmp $: never exits to the VMM
#   flood    writes to the serial port as fast as it can
# These attack round after round, print a mark after each round (checked
# by the guest itself where it can), and after a set number of rounds
# reset the machine through the keyboard controller: the run must end by
# that reset, with every round's mark in the log.  The count, not the
# clock, says how much the guest did (at load 25 a 10 s timeout left
# room for one round of pokes only); the timeout is a safety net:
#   pokes    port I/O all over the unmodelled ports, writes to the BIOS
#            ROM, fw_cfg's selector past its items, PCI config writes to
#            a device that does not exist
#   ide      on the IDE disk (--bus=ide): commands whose counts are huge
#            (0 = 256 sectors, LBA48 0 = 65536) read or written a sector
#            and a word, or one word, and then abandoned; LBA28, LBA48
#            and straddling reads and writes past the disk's end; CHS
#            sector 0; a bad SET MULTIPLE; bus mastering turned on in
#            every PCI function, the bus-master registers started and
#            READ DMA into a region outside guest RAM (refused with the
#            bus master's error bit); 4096 reads
#            of an idle data port.  The guest checks the device's status
#            after each and prints a letter (X when it is wrong)
#   pastend  virtio-blk reads and writes past the disk's end: one sector
#            just past it, two from the last sector in one buffer and in
#            two (the first inside the disk), sectors whose byte offset
#            or end wraps 2^64, and 2^32 + the last sector.  Each must
#            come back VIRTIO_BLK_S_IOERR with its buffers untouched, and
#            a read of the last sector then finds it as the image holds
#            it (none of the writes reached it); the guest prints a
#            letter for each (X when not); the image file is unchanged
# and these, each the guest's error at once, the VMM's reason checked:
#   loop     the overlap code with the status descriptor chained back to
#            the first: a descriptor loop
#   range    a virtio-blk data buffer at 1 TiB, outside guest RAM
#   huge     a data buffer of 4 GiB - 1 bytes
#   wrap     a data buffer whose end wraps the 64-bit address space
#   index    a chain whose next descriptor is 4000 of a 256-entry queue
#   queue    the virtqueue's rings placed at 4 GiB - 4 KiB
# The code is in the comments; the bytes were assembled with GNU as
# (.code16, -Ttext 0x7c00); the IDE, pokes and pastend guests are
# assembled here.  One run each: the appliance boots for each (about 15 s
# on a quiet machine, two minutes at load 25).  The time checked is the
# part the VMM controls, from the appliance starting the inner vmconv to
# its report, not the appliance's own boot.
# run-tests: timeout=2400
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"
requires python3 as ld

LIMIT=10
# the safety timeout of the guests that end themselves after their rounds
SAFETY=120

# overlap: find the virtio-blk function (1af4:1001) by PCI config, its
# I/O BAR into bp; zero 0x10000-0x12fff and copy five descriptors there;
# avail.idx = 1, ring[0] = 0; the header at 0x8000 reads sector 1; reset,
# ACK|DRIVER, queue 0 at PFN 0x10, DRIVER_OK; then forever: notify, 'N'.
# Descriptors: 0x8000/16 (header) -> 0x11000/4 (the ring's flags and idx,
# written) -> 0x8000/16 (the header, written) -> 0x9100/492 -> 0x9000/1
# (status).  Sector k of the disk holds idx k+1 and a header for sector
# k+1, so every request publishes the next.
OVERLAP='\xfa\x31\xc0\x8e\xd8\x8e\xd0\xbc\x00\x70\x66\xbb\x00\x00\x00\x80'
OVERLAP+='\xba\xf8\x0c\x66\x89\xd8\x66\xef\xba\xfc\x0c\x66\xed\x66\x3d\xf4'
OVERLAP+='\x1a\x01\x10\x74\x13\x66\x81\xc3\x00\x08\x00\x00\x66\x81\xfb\x00'
OVERLAP+='\x00\x01\x80\x72\xdb\xe9\x86\x00\x66\x89\xd8\x0c\x10\xba\xf8\x0c'
OVERLAP+='\x66\xef\xba\xfc\x0c\x66\xed\x83\xe0\xfc\x89\xc5\xb8\x00\x10\x8e'
OVERLAP+='\xc0\x31\xff\x31\xc0\xb9\x00\x18\xfc\xf3\xab\x31\xff\xbe\xc7\x7c'
OVERLAP+='\xb9\x50\x00\xf3\xa4\x26\xc7\x06\x02\x10\x01\x00\x66\xc7\x06\x00'
OVERLAP+='\x80\x00\x00\x00\x00\x66\xc7\x06\x04\x80\x00\x00\x00\x00\x66\xc7'
OVERLAP+='\x06\x08\x80\x01\x00\x00\x00\x66\xc7\x06\x0c\x80\x00\x00\x00\x00'
OVERLAP+='\x8d\x56\x12\xb0\x00\xee\xb0\x03\xee\x8d\x56\x0e\x31\xc0\xef\x8d'
OVERLAP+='\x56\x08\x66\xb8\x10\x00\x00\x00\x66\xef\x8d\x56\x12\xb0\x07\xee'
OVERLAP+='\x8d\x56\x10\x31\xc0\xef\xba\xf8\x03\xb0\x4e\xee\xeb\xf2\xba\xf8'
OVERLAP+='\x03\xb0\x46\xee\xf4\xeb\xf7'
# the descriptor table at 0x7cc7
OVERLAP+='\x00\x80\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x01\x00\x01\x00'
OVERLAP+='\x00\x10\x01\x00\x00\x00\x00\x00\x04\x00\x00\x00\x03\x00\x02\x00'
OVERLAP+='\x00\x80\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x03\x00\x03\x00'
OVERLAP+='\x00\x91\x00\x00\x00\x00\x00\x00\xec\x01\x00\x00\x03\x00\x04\x00'
OVERLAP+='\x00\x90\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00'
# cli ; 1: jmp 1b
SPIN='\xfa\xeb\xfe'
# cli ; mov dx, 0x3f8 ; mov al, 'A' ; 1: out dx, al ; jmp 1b
FLOOD='\xfa\xba\xf8\x03\xb0\x41\xee\xeb\xfd'
# ide: the guest checks each attack's outcome itself.  An attack is a
# table entry: the LBA48 high bytes (HOB: count, LBA 24-31, 32-39,
# 40-47), the low ones (count, LBA 0-7, 8-15, 16-23), the device/head
# register, the command, how many words to move through the data port
# (in or out), then the status it must leave (BSY, DRQ and ERR only:
# 0x08 a transfer under way, 0x01 refused) and the letter to print.  The
# disk has 131072 sectors (64 MiB).
cat >"$T/ide.s" <<'EOF'
	.code16
	.intel_syntax noprefix
	.globl _start
_start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7000
	mov ax, 0x1000			# es: the buffer, 0x10000-0x1ffff
	mov es, ax
	cld
	mov word ptr [0x600], 3		# rounds
	# every PCI function of bus 0: BAR4 (bus master) 0xc000, command
	# I/O | memory | bus master
	mov ebx, 0x80000000
1:	lea eax, [ebx + 0x20]
	mov dx, 0xcf8
	out dx, eax
	mov eax, 0xc001
	mov dl, 0xfc
	out dx, eax
	lea eax, [ebx + 4]
	mov dl, 0xf8
	out dx, eax
	mov ax, 7
	mov dl, 0xfc
	out dx, ax
	add ebx, 0x100
	cmp ebx, 0x80010000
	jb 1b
	# one PRD at 0x8000: 64 KiB at 0xfffe0000 (the BIOS ROM, not RAM),
	# the end of the table
	mov dword ptr [0x8000], 0xfffe0000
	mov dword ptr [0x8004], 0x80000000
	# the bus-master registers: PRD table at 0x8000, start (to memory)
	mov eax, 0x8000
	mov dx, 0xc004
	out dx, eax
	mov al, 9
	mov dl, 0
	out dx, al
round:
	mov si, offset table
	mov bp, (end - table) / 15
2:	call attack
	dec bp
	jnz 2b
	mov dx, 0x3f8			# a round done
	mov al, '|'
	out dx, al
	dec word ptr [0x600]
	jnz round
	mov al, 0xfe			# the keyboard controller resets
	out 0x64, al
	jmp $

attack:
	mov dx, 0x1f2			# HOB bytes, then the low ones
	mov cx, 8
3:	lodsb
	out dx, al
	inc dx
	cmp cx, 5
	jne 4f
	mov dx, 0x1f2
4:	loop 3b
	mov dx, 0x1f6
	lodsb				# device/head
	out dx, al
	inc dx
	lodsb				# command
	out dx, al
	lodsw
	mov cx, ax
	lodsb
	mov dx, 0x1f0
	xor di, di
	test al, al
	jnz 5f
	rep insw
	jmp 6f
5:	push si
	xor si, si
	rep outsw dx, word ptr es:[si]
	pop si
6:	mov dx, 0x1f7
	in al, dx
	and al, 0x89
	mov ah, al
	lodsb
	cmp ah, al
	lodsb
	je 7f
	mov al, 'X'
7:	mov dx, 0x3f8
	out dx, al
	ret

	.macro ata hob, low, dev, cmd, words, out, want, letter
	.byte \hob, \low, \dev, \cmd
	.word \words
	.byte \out, \want, \letter
	.endm
table:	# NOP (refused), then 4096 reads of an idle data port
	ata "0,0,0,0", "0,0,0,0", 0xe0, 0x00, 0x1000, 0, 0x01, 'a'
	# READ SECTORS, count 0 = 256: one word read, then left
	ata "0,0,0,0", "0,0,0,0", 0xe0, 0x20, 1, 0, 0x08, 'b'
	# READ SECTORS EXT, 65536 sectors: one read and a word of the next
	ata "0,0,0,0", "0,0,0,0", 0x40, 0x24, 257, 0, 0x08, 'c'
	# READ MULTIPLE EXT, 65536 sectors: one word read, then left
	ata "0,0,0,0", "0,0,0,0", 0x40, 0x29, 1, 0, 0x08, 'd'
	# WRITE SECTORS EXT at 256, 65536 sectors: one written and a word
	ata "0,0,0,0", "0,0,1,0", 0x40, 0x34, 257, 1, 0x08, 'e'
	# WRITE MULTIPLE at 256, 256 sectors: one word written, then left
	ata "0,0,0,0", "0,0,1,0", 0xe0, 0xc5, 1, 1, 0x08, 'f'
	# READ SECTORS at LBA 0x0fffffff, then 16 reads of nothing
	ata "0,0,0,0", "1,0xff,0xff,0xff", 0xef, 0x20, 16, 0, 0x01, 'g'
	# READ SECTORS EXT at LBA 2^47, 65536 sectors
	ata "0,0,0,0x80", "0,0,0,0", 0x40, 0x24, 16, 0, 0x01, 'h'
	# READ SECTORS EXT of 2 sectors from the last one
	ata "0,0,0,0", "2,0xff,0xff,1", 0x40, 0x24, 0, 0, 0x01, 'i'
	# WRITE SECTORS at LBA 0x0fffff00, then 16 writes to nothing
	ata "0,0,0,0", "0,0,0xff,0xff", 0xef, 0x30, 16, 1, 0x01, 'j'
	# READ DMA, the bus master started, its region outside RAM
	ata "0,0,0,0", "1,0,0,0", 0xe0, 0xc8, 16, 0, 0x01, 'k'
	# READ SECTORS by CHS, sector 0 (sectors count from 1)
	ata "0,0,0,0", "1,0,0,0", 0xa0, 0x20, 0, 0, 0x01, 'l'
	# SET MULTIPLE MODE 3 (not a power of two)
	ata "0,0,0,0", "3,0,0,0", 0xe0, 0xc6, 0, 0, 0x01, 'm'
end:
EOF
IDE_MARK='abcdefghijklm|'

# pokes: three rounds, each ending in '#'
cat >"$T/pokes.s" <<'EOF'
	.code16
	.intel_syntax noprefix
	.globl _start
_start:
	cli
	xor ax, ax
	mov ds, ax
	mov ax, 0xf000			# es: the BIOS ROM
	mov es, ax
	xor di, di
	mov bp, 3			# rounds
round:
	mov dx, 0x1000
1:	in al, dx			# every 17th port from 0x1000 to 0xbf00
	out dx, al
	in ax, dx
	out dx, ax
	mov es:[di], al			# a byte of the ROM written, read
	mov al, es:[di]
	inc di
	add dx, 0x11
	cmp dx, 0xbf00
	jb 1b
	mov dx, 0x510			# fw_cfg: a selector past its items
	mov ax, 0xffff
	out dx, ax
	inc dx
	in al, dx
	mov dx, 0xcf8			# PCI config of a device that is not there
	mov eax, 0x80fffffc
	out dx, eax
	mov dl, 0xfc
	mov eax, 0xffffffff
	out dx, eax
	in eax, dx
	mov dx, 0x3f8
	mov al, '#'
	out dx, al
	dec bp
	jnz round
	mov al, 0xfe			# the keyboard controller resets
	out 0x64, al
	jmp $
EOF

# pastend: virtio-blk on a disk of 2048 sectors whose last one holds 0xa5;
# three rounds of the table, a letter per request
cat >"$T/pastend.s" <<'EOF'
	.code16
	.intel_syntax noprefix
	.globl _start
_start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7000
	cld
	# the virtio-blk function (1af4:1001) on bus 0: its I/O BAR into bp
	mov ebx, 0x80000000
1:	mov eax, ebx
	mov dx, 0xcf8
	out dx, eax
	mov dl, 0xfc
	in eax, dx
	cmp eax, 0x10011af4
	je 2f
	add ebx, 0x800			# (not there: no letters, ever)
	jmp 1b
2:	lea eax, [ebx + 0x10]
	mov dl, 0xf8
	out dx, eax
	mov dl, 0xfc
	in eax, dx
	and ax, 0xfffc
	mov bp, ax
	# the queue at 0x10000 (fs), zeroed, its four descriptors copied in
	mov ax, 0x1000
	mov es, ax
	mov fs, ax
	xor di, di
	xor ax, ax
	mov cx, 0x1800
	rep stosw
	xor di, di
	mov si, offset descs
	mov cx, 64
	rep movsb
	push ds
	pop es
	lea dx, [bp + 0x12]		# reset, ACKNOWLEDGE | DRIVER
	mov al, 0
	out dx, al
	mov al, 3
	out dx, al
	lea dx, [bp + 0x0e]		# queue 0 at page frame 0x10
	xor ax, ax
	out dx, ax
	lea dx, [bp + 0x08]
	mov ax, 0x10			# (eax's high half is the BAR's: 0)
	out dx, eax
	lea dx, [bp + 0x12]		# DRIVER_OK
	mov al, 7
	out dx, al
	mov byte ptr [0x600], 3		# rounds
round:
	mov si, offset table
	mov cx, (end - table) / 15
3:	push cx
	call request
	pop cx
	loop 3b
	dec byte ptr [0x600]
	jnz round
	mov al, 0xfe			# the keyboard controller resets
	out 0x64, al
	jmp $

# one table entry: the request, its answer checked, a letter printed
request:
	xor eax, eax
	mov [0x8004], eax
	lodsb				# type: 0 IN, 1 OUT
	mov [0x8000], eax
	mov bl, 3			# IN: NEXT | WRITE (the device writes)
	test al, al
	jz 4f
	mov bl, 1			# OUT: NEXT
4:	mov fs:[0x1c], bl		# the flags of both data descriptors
	mov fs:[0x2c], bl
	lodsb				# descriptor 1's length / 256
	mov fs:[0x19], al
	lodsb				# descriptor 1's next: 2, or 3 (status)
	mov fs:[0x1e], al
	lodsb				# the bytes to check / 256
	push ax
	lodsd				# the sector
	mov [0x8008], eax
	lodsd
	mov [0x800c], eax
	mov di, 0x9000			# the buffers all 'Z', the status 0xee
	mov al, 0x5a
	mov cx, 0x400
	rep stosb
	mov byte ptr [0x8010], 0xee
	mov di, fs:[0x1002]		# avail.ring[idx % 256] = 0, idx + 1
	mov bx, di
	and bx, 0xff
	shl bx, 1
	mov word ptr fs:[bx + 0x1004], 0
	inc di
	mov fs:[0x1002], di
	lea dx, [bp + 0x10]		# notify (the VMM answers on this exit)
	xor ax, ax
	out dx, ax
	lodsw				# al: the status wanted, ah: the byte
	mov bx, ax
	lodsb				# the letter
8:	cmp di, fs:[0x2002]		# used.idx: wait for the answer
	jne 8b
	pop cx				# the bytes to check
	mov ch, cl
	mov cl, 0
	cmp bl, [0x8010]
	jne 6f
	mov di, 0x9000			# the buffers hold what they should
	xchg al, bh
	repe scasb
	xchg al, bh
	je 7f
6:	mov al, 'X'
7:	mov dx, 0x3f8
	out dx, al
	ret

descs:	# header -> data (0x9000) -> data (0x9200) -> status
	.quad 0x8000
	.long 16
	.word 1, 1
	.quad 0x9000
	.long 512
	.word 1, 2
	.quad 0x9200
	.long 512
	.word 1, 3
	.quad 0x8010
	.long 1
	.word 2, 0

	# type, descriptor 1 length / 256, its next, bytes checked / 256,
	# sector, status wanted, the buffers' byte wanted, letter.  The disk
	# has 2048 sectors; the last one holds 0xa5.
	.macro blk type, len1, next, check, sector, status, byte, letter
	.byte \type, \len1, \next, \check
	.quad \sector
	.byte \status, \byte, \letter
	.endm
table:	# one sector just past the end: read, write
	blk 0, 2, 3, 2, 2048, 1, 0x5a, 'a'
	blk 1, 2, 3, 2, 2048, 1, 0x5a, 'b'
	# two sectors from the last one, in one buffer: read, write
	blk 0, 4, 3, 4, 2047, 1, 0x5a, 'c'
	blk 1, 4, 3, 4, 2047, 1, 0x5a, 'd'
	# the same in two buffers, the first inside the disk
	blk 0, 2, 2, 4, 2047, 1, 0x5a, 'e'
	blk 1, 2, 2, 4, 2047, 1, 0x5a, 'f'
	# sector * 512 past 2^64; its end past 2^64; 2^32 + the last sector
	blk 0, 2, 3, 2, 0xffffffffffffffff, 1, 0x5a, 'g'
	blk 1, 2, 3, 2, 0x007fffffffffffff, 1, 0x5a, 'h'
	blk 1, 2, 3, 2, 0x1000007ff, 1, 0x5a, 'i'
	# the last sector: read whole, none of the writes above reached it
	blk 0, 2, 3, 2, 2047, 0, 0xa5, 'j'
end:
EOF
PASTEND_MARK=abcdefghij

# assemble NAME: $T/NAME.s into the boot sector of $T/NAME.img (1 MiB)
assemble() {
	as --32 -o "$T/$1.o" "$T/$1.s" &&
		ld -m elf_i386 -Ttext 0x7c00 --oformat binary \
			-o "$T/$1.bin" "$T/$1.o" || fail "assembling the $1 guest"
	[ "$(stat -c %s "$T/$1.bin")" -le 510 ] ||
		fail "the $1 guest is too big"
	bootsector "$1" ""
	dd if="$T/$1.bin" of="$T/$1.img" conv=notrunc status=none
}

bootsector overlap "$OVERLAP"
# 65536 sectors: sector k (k >= 1) holds avail flags 0, idx k+1, then the
# request header (type IN, sector k+1, wrapping to 1)
python3 - "$T/overlap.img" <<'EOF' || fail "making the overlap disk"
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.truncate(65536 * 512)
    for k in range(1, 65536):
        f.seek(k * 512)
        f.write(struct.pack("<HHIIQ", 0, (k + 1) & 0xffff, 0, 0,
                            k + 1 if k < 65535 else 1))
EOF
# the status descriptor: flags NEXT|WRITE, next 0
LOOP=${OVERLAP%'\x02\x00\x00\x00'}'\x03\x00\x00\x00'
bootsector loop "$LOOP"
bootsector spin "$SPIN"
bootsector flood "$FLOOD"
assemble pokes
assemble ide
truncate -s 64M "$T/ide.img"
assemble pastend
python3 -c "
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(2047 * 512)
    f.write(b'\xa5' * 512)" "$T/pastend.img" || fail "the pastend disk"
PASTEND_SUM=$(sha256sum <"$T/pastend.img")

# The virtio variants: OVERLAP with one field changed.  Descriptor 3 (the
# data buffer) and the queue's page frame number as they are:
D3='\x00\x91\x00\x00\x00\x00\x00\x00\xec\x01\x00\x00\x03\x00\x04\x00'
PFN='\x66\xb8\x10\x00\x00\x00'
# variant NAME FROM TO: $T/NAME.img, OVERLAP with FROM replaced by TO
variant() {
	local code=${OVERLAP/"$2"/"$3"}
	[ "$code" != "$OVERLAP" ] || fail "$1: '$2' is not in the code"
	bootsector "$1" "$code"
}
variant range "$D3" '\x00\x91\x00\x00\x00\x01\x00\x00\xec\x01\x00\x00\x03\x00\x04\x00'
variant huge "$D3" '\x00\x91\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\x03\x00\x04\x00'
variant wrap "$D3" '\x00\xfe\xff\xff\xff\xff\xff\xff\x00\x04\x00\x00\x03\x00\x04\x00'
variant index "$D3" '\x00\x91\x00\x00\x00\x00\x00\x00\xec\x01\x00\x00\x03\x00\xa0\x0f'
variant queue "$PFN" '\x66\xb8\xff\xff\x0f\x00'

failed=()
# contained NAME LIMIT: the run was the built-in VMM's, the part of it the
# VMM controls (from the appliance starting the inner vmconv to its
# report; not the appliance's own boot, which at load 25 took two minutes
# and was once restarted) ended within the run's timeout LIMIT, the VMM
# watchdog's 10 s and two minutes for the inner vmconv's set-up and
# report; the console log bounded
contained() {
	local n=$1 ms size
	grep -q 'not part of this build' "$T/$n.err" &&
		fail "the built-in VMM is not in this build"
	[ "$(field "$n" .inner_engine)" = direct ] ||
		{ echo "$n: not run by the built-in VMM"; return 1; }
	ms=$(field "$n" '.appliance.wall_ms - .appliance.boot_ms')
	[ "$ms" -le $(( ($2 + 10 + 120) * 1000 )) ] ||
		{ echo "$n: the run in the appliance took $ms ms"; return 1; }
	size=$(stat -c %s "$T/$n.console")
	[ "$size" -le $((16 * 1048576 + 100)) ] ||
		{ echo "$n: console log of $size bytes"; return 1; }
}
# hostile NAME MARK: the run ended by the run loop's own timeout, MARK
# (if any), printed by the guest after each of its attacks, seen twice
hostile() {
	local n=$1 mark=$2 vmm
	validate "$n" --engine=nested --timeout=$LIMIT "$T/$n.img"
	verdict "$n" 1 false bootloader "timed out after $LIMIT s" || return 1
	vmm=$(field "$n" .vmm_reason)
	[ "$vmm" = "timed out after $LIMIT s" ] ||
		{ echo "$n: the VMM's reason is '$vmm'"; return 1; }
	contained "$n" $LIMIT || return 1
	if [ -n "$mark" ]; then
		grep -qF -- "$mark$mark" "$T/$n.console" ||
			{ echo "$n: the guest did not run on after its attack"
			  tail -c 300 "$T/$n.console"; return 1; }
	fi
	return 0
}
# rounds NAME MARK [ARGS]: the run (with ARGS) ended by the guest's own
# reset after its three rounds, MARK (all of a round's letters, each
# checked by the guest) exactly three times in a row
rounds() {
	local n=$1 mark=$2 vmm
	shift 2
	validate "$n" --engine=nested --timeout=$SAFETY "$@" "$T/$n.img"
	verdict "$n" 1 false bootloader "the guest rebooted during stage" ||
		return 1
	vmm=$(field "$n" .vmm_reason)
	[ "$vmm" = "the guest reset the machine (keyboard controller)" ] ||
		{ echo "$n: the VMM's reason is '$vmm'"; return 1; }
	contained "$n" $SAFETY || return 1
	grep -qF -- "$mark$mark$mark" "$T/$n.console" &&
		! grep -qF -- "$mark$mark$mark$mark" "$T/$n.console" ||
		{ echo "$n: not three rounds of '$mark'"
		  tail -c 300 "$T/$n.console"; return 1; }
}
check() { local n=$1; shift; ( "$@" ) || failed+=("$n"); }

check overlap hostile overlap N
validate loop --engine=nested --timeout=$LIMIT "$T/loop.img"
check loop verdict loop 1 false bootloader "virtio-blk: virtqueue"
check loop-reason eval 'field loop .vmm_reason | grep -q "a loop"'
check spin hostile spin ""
check flood hostile flood A
check pokes rounds pokes "#"
check ide rounds ide "$IDE_MARK" --bus=ide
check pastend rounds pastend "$PASTEND_MARK"
check pastend-image eval '[ "$(sha256sum <"$T/pastend.img")" = "$PASTEND_SUM" ]'
# misbehaved NAME REASON: the run ended at once as the guest's error, the
# VMM's reason containing REASON
misbehaved() {
	validate "$1" --engine=nested --timeout=$LIMIT "$T/$1.img"
	verdict "$1" 1 false bootloader "virtio-blk: virtqueue" || return 1
	field "$1" .vmm_reason | grep -qF -- "$2" ||
		{ echo "$1: the VMM's reason lacks '$2'"; return 1; }
}
check range misbehaved range "points outside guest RAM"
check huge misbehaved huge "points outside guest RAM"
check wrap misbehaved wrap "points outside guest RAM"
check index misbehaved index "index 4000 out of range"
check queue misbehaved queue "rings outside guest RAM"

summary
[ ${#failed[@]} -eq 0 ] || fail "hostile guests not contained: ${failed[*]}"
exit 0
