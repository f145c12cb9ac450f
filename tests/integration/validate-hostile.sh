# Hostile guests on the built-in VMM, run where it really runs here: the
# nested engine (the VMM inside the hypervisor appliance, under QEMU with
# an emulated SVM where the host has no usable KVM), in its sandboxed child
# process.  Each guest is a boot sector (SeaBIOS loads it) that attacks the
# VMM; each run must end by the guest's timeout with a clear reason from
# the VMM's own run loop (not its watchdog, not a crash, not a sandbox
# kill), the guest must have kept running between its attacks, and the
# console log stays bounded:
#   overlap  virtio-blk requests whose data lands on the available ring
#            and on the next request's header: every request publishes
#            the next one, forever (the notify loop that never returned
#            to KVM_RUN); the device serves a queue's worth per notify
#   loop     the same code with the status descriptor chained back to
#            the first: a descriptor loop, which ends the run at once as
#            the guest's error
#   spin     cli; jmp $: never exits to the VMM
#   flood    writes to the serial port as fast as it can
#   pokes    port I/O all over the unmodelled ports, writes to the BIOS
#            ROM, fw_cfg's selector past its items, PCI config writes to
#            a device that does not exist
#   ide      on the IDE disk (--bus=ide), round after round: commands
#            whose counts are huge (0 = 256 sectors, LBA48 0 = 65536)
#            read or written a sector and a word, or one word, and then
#            abandoned; LBA28, LBA48 and straddling reads and writes past
#            the disk's end; CHS sector 0; a bad SET MULTIPLE; bus
#            mastering turned on in every PCI function, the bus-master
#            registers started and READ DMA into a region outside guest
#            RAM (refused with the bus master's error bit); 4096 reads of
#            an idle data port.  The guest
#            checks the device's status after each and prints a letter
#            (X when it is wrong)
# and these, each the guest's error at once, the VMM's reason checked:
#   range    a virtio-blk data buffer at 1 TiB, outside guest RAM
#   huge     a data buffer of 4 GiB - 1 bytes
#   wrap     a data buffer whose end wraps the 64-bit address space
#   index    a chain whose next descriptor is 4000 of a 256-entry queue
#   queue    the virtqueue's rings placed at 4 GiB - 4 KiB
# The code is in the comments; the bytes were assembled with GNU as
# (.code16, -Ttext 0x7c00); the IDE guest is assembled here.  One run
# each: the appliance boots for each (about 15 s here).
# run-tests: timeout=2400
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/validate-common.inc"
requires python3 as ld

LIMIT=10

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
# cli ; ds = 0 ; es = 0xf000 (the BIOS ROM) ; di = 0 ; dx = 0x1000
# 1: in al, dx ; out dx, al ; in ax, dx ; out dx, ax ; mov es:[di], al ;
#    mov al, es:[di] ; inc di ; add dx, 0x11 ; cmp dx, 0xbf00 ; jb 1b
#    out 0x510 <- 0xffff ; in al, 0x511 ;
#    out 0xcf8 <- 0x80fffffc ; out 0xcfc <- 0xffffffff ; in eax, 0xcfc
#    out 0x3f8 <- '#' ; dx = 0x1000 ; jmp 1b
POKES='\xfa\x31\xc0\x8e\xd8\xb8\x00\xf0\x8e\xc0\x31\xff\xba\x00\x10\xec'
POKES+='\xee\xed\xef\x26\x88\x05\x26\x8a\x05\x47\x83\xc2\x11\x81\xfa\x00'
POKES+='\xbf\x72\xec\xba\x10\x05\xb8\xff\xff\xef\x42\xec\xba\xf8\x0c\x66'
POKES+='\xb8\xfc\xff\xff\x80\x66\xef\xba\xfc\x0c\x66\xb8\xff\xff\xff\xff'
POKES+='\x66\xef\x66\xed\xba\xf8\x03\xb0\x23\xee\xba\x00\x10\xeb\xc0'

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
	jmp round

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
as --32 -o "$T/ide.o" "$T/ide.s" &&
	ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$T/ide.bin" \
		"$T/ide.o" || fail "assembling the IDE guest"
[ "$(stat -c %s "$T/ide.bin")" -le 510 ] || fail "the IDE guest is too big"
IDE_MARK=abcdefghijklm

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
bootsector pokes "$POKES"
bootsector ide ""
dd if="$T/ide.bin" of="$T/ide.img" conv=notrunc status=none
truncate -s 64M "$T/ide.img"

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
# hostile NAME MARK [ARGS]: the run (with ARGS) ended by the run loop's own timeout, within
# the limit, the sandbox intact, the log bounded; MARK (if any) printed
# by the guest after each round of its attack, seen at least twice
hostile() {
	local n=$1 mark=$2 took vmm size
	shift 2
	validate "$n" --engine=nested --timeout=$LIMIT "$@" "$T/$n.img"
	grep -q 'not part of this build' "$T/$n.err" &&
		fail "the built-in VMM is not in this build"
	verdict "$n" 1 false bootloader "timed out after $LIMIT s" || return 1
	vmm=$(field "$n" .vmm_reason)
	[ "$vmm" = "timed out after $LIMIT s" ] ||
		{ echo "$n: the VMM's reason is '$vmm'"; return 1; }
	[ "$(field "$n" .inner_engine)" = direct ] ||
		{ echo "$n: not run by the built-in VMM"; return 1; }
	took=$(field "$n" '.seconds | ceil')
	[ "$took" -le $((LIMIT + 240)) ] ||
		{ echo "$n: took $took s"; return 1; }
	size=$(stat -c %s "$T/$n.console")
	[ "$size" -le $((16 * 1048576 + 100)) ] ||
		{ echo "$n: console log of $size bytes"; return 1; }
	if [ -n "$mark" ]; then
		grep -qF -- "$mark$mark" "$T/$n.console" ||
			{ echo "$n: the guest did not run on after its attack"
			  tail -c 300 "$T/$n.console"; return 1; }
	fi
	return 0
}
check() { local n=$1; shift; ( "$@" ) || failed+=("$n"); }

check overlap hostile overlap N
validate loop --engine=nested --timeout=$LIMIT "$T/loop.img"
check loop verdict loop 1 false bootloader "virtio-blk: virtqueue"
check loop-reason eval 'field loop .vmm_reason | grep -q "a loop"'
check spin hostile spin ""
check flood hostile flood A
check pokes hostile pokes "#"
check ide hostile ide "$IDE_MARK" --bus=ide
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
