package proxy

import "bulwark/internal/h2up"

// The response header blocks are encoded with the HPACK encoder the
// server side uses too (internal/h2up/hpack.go): literals without
// indexing, names from the static table, no Huffman coding.

func appendHPACKStatus(dst []byte, status int) []byte { return h2up.AppendStatus(dst, status) }

func appendHPACKField(dst, name, value []byte) []byte { return h2up.AppendField(dst, name, value) }
