package main

/*
#include "bridge.h"
*/
import "C"

import (
	"errors"
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
	"github.com/zig-h3/h3bun/server"
)

// fail records msg as the calling thread's last error and returns code.
func fail(code C.int, msg string) C.int {
	if msg == "" {
		msg = C.GoString(C.zig_h3_strerror(code))
	}
	C.zig_h3_set_last_error((*C.char)(unsafe.Pointer(unsafe.StringData(msg))), C.size_t(len(msg)))
	return code
}

// result turns a core error into a return code.
func result(err error) C.int {
	if err == nil {
		return C.ZIG_H3_OK
	}
	code := C.int(C.ZIG_H3_ERR_INTERNAL)
	switch {
	case errors.Is(err, bridge.ErrServerClosed): // a freed server: its handle was taken by a racing free
		code = C.ZIG_H3_ERR_BAD_HANDLE
	case errors.Is(err, server.ErrInvalidArgument):
		code = C.ZIG_H3_ERR_INVALID_ARG
	case errors.Is(err, server.ErrState):
		code = C.ZIG_H3_ERR_STATE
	case errors.Is(err, server.ErrClosed):
		code = C.ZIG_H3_ERR_CLOSED
	case errors.Is(err, bridge.ErrQueueFull):
		code = C.ZIG_H3_ERR_QUEUE_FULL
	case errors.Is(err, server.ErrConfig):
		code = C.ZIG_H3_ERR_CONFIG
	case errors.Is(err, server.ErrDatagramTooLarge):
		code = C.ZIG_H3_ERR_TOO_LARGE
	case errors.Is(err, bridge.ErrTimeout):
		code = C.ZIG_H3_ERR_TIMEOUT
	default:
		code = C.ZIG_H3_ERR_IO
	}
	return fail(code, err.Error())
}

func badHandle(what string) C.int {
	return fail(C.ZIG_H3_ERR_BAD_HANDLE, "unknown, freed or finished "+what+" handle")
}

func invalid(msg string) C.int { return fail(C.ZIG_H3_ERR_INVALID_ARG, msg) }
