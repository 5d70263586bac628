package notify_test

import (
	"mime"
	"net"
	"strconv"
)

type mimeDecoder = mime.WordDecoder

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}
