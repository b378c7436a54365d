/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clone-agent (built from agent/ with musl) carried inside the clone
 * binary, so the generated initramfs can always start it; see
 * src/boot/agent_blob.h.  The Makefile passes AGENT_BIN, the built file.
 */
	.section .rodata.clone_agent, "a"
	.balign 16
	.globl clone_agent_blob
clone_agent_blob:
	.incbin AGENT_BIN
	.globl clone_agent_blob_end
clone_agent_blob_end:
	.byte 0
	.section .note.GNU-stack, "", @progbits
