package core

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/quic-go/webtransport-go"
)

// streamLinger is how long a finished stream's handle stays valid.
const streamLinger = 5 * time.Second

// Stream is one WebTransport stream of a session: readable (incoming data
// delivered as events, paced by AckData), writable (Write never blocks;
// WRITABLE events pace the writer), or both.
type Stream struct {
	Handle uint64
	sess   *Session

	recv       io.Reader // nil for a send-only stream
	cancelRead func(webtransport.StreamErrorCode)
	credit     *credit

	send        io.Writer // nil for a receive-only stream
	closeWrite  func() error
	cancelWrite func(webtransport.StreamErrorCode)
	out         *outbox

	ctx    context.Context
	cancel context.CancelFunc
}

func newStream(s *Session) *Stream {
	st := &Stream{Handle: StreamHandleBase + lastStream.next(), sess: s}
	st.ctx, st.cancel = context.WithCancel(context.Background())
	return st
}

func newBidiStream(s *Session, str *webtransport.Stream) *Stream {
	st := newStream(s)
	st.recv, st.cancelRead, st.credit = str, str.CancelRead, newCredit()
	st.send, st.closeWrite, st.cancelWrite = str, str.Close, str.CancelWrite
	st.out = newOutbox(st.writable)
	return st
}

func newReceiveStream(s *Session, str *webtransport.ReceiveStream) *Stream {
	st := newStream(s)
	st.recv, st.cancelRead, st.credit = str, str.CancelRead, newCredit()
	return st
}

func newSendStream(s *Session, str *webtransport.SendStream) *Stream {
	st := newStream(s)
	st.send, st.closeWrite, st.cancelWrite = str, str.Close, str.CancelWrite
	st.out = newOutbox(st.writable)
	return st
}

// LookupStream returns the open stream with the given handle.
func LookupStream(h uint64) (*Stream, bool) {
	v, ok := openStreams.Load(h)
	if !ok {
		return nil, false
	}
	return v.(*Stream), true
}

func (st *Stream) writable() {
	if q := st.sess.q; q != nil {
		_ = q.PushControl(encodeWritable(st.Handle))
	}
}

// start runs the stream's reader and writer; the stream is forgotten when
// both are done.
func (st *Stream) start() {
	done := make(chan struct{}, 2)
	parts := 0
	if st.recv != nil {
		parts++
		go func() {
			defer func() { done <- struct{}{} }()
			st.pumpIncoming()
		}()
	}
	if st.send != nil {
		parts++
		go func() {
			defer func() { done <- struct{}{} }()
			st.out.run(st.ctx, st.send, st.closeWrite)
		}()
	}
	go func() {
		for i := 0; i < parts; i++ {
			<-done
		}
		// Keep the handle a while: the consumer may still acknowledge data.
		time.AfterFunc(streamLinger, st.forget)
	}()
}

// pumpIncoming delivers the readable side as EventStreamData events and a
// final EventStreamEnd (FIN, or the peer's reset code).
func (st *Stream) pumpIncoming() {
	q := st.sess.q
	if q == nil {
		st.cancelRead(0)
		return
	}
	pumpToQueue(st.ctx, q, st.credit, st.recv.Read,
		func(b []byte) []byte { return encodeStreamData(st.Handle, b) },
		func(err error) []byte {
			if err == io.EOF {
				return encodeStreamEnd(st.Handle, false, 0)
			}
			var se *webtransport.StreamError
			if errors.As(err, &se) {
				return encodeStreamEnd(st.Handle, true, uint32(se.ErrorCode))
			}
			return encodeStreamEnd(st.Handle, true, 0)
		})
}

// forget drops the stream from the tables and stops its goroutines.
func (st *Stream) forget() {
	st.cancel()
	openStreams.Delete(st.Handle)
	st.sess.removeStream(st)
}

// Write records data (copied) and, with fin, the end of the stream; it
// returns the bytes pending (pause at ResponseHighWater, see outbox).
func (st *Stream) Write(p []byte, fin bool) (int, error) {
	if st.out == nil {
		return 0, ErrState
	}
	return st.out.send(p, fin)
}

// AckData acknowledges n bytes delivered as EventStreamData.
func (st *Stream) AckData(n int) error {
	if st.credit == nil || n < 0 {
		return ErrState
	}
	st.credit.ack(n)
	return nil
}

// Reset abandons the stream: the writable side is reset with code, the
// readable side stopped with code.
func (st *Stream) Reset(code uint32) {
	if st.cancelWrite != nil {
		st.cancelWrite(webtransport.StreamErrorCode(code))
	}
	if st.cancelRead != nil {
		st.cancelRead(webtransport.StreamErrorCode(code))
	}
	st.forget()
}

// StopReading tells the peer to stop sending (STOP_SENDING with code).
func (st *Stream) StopReading(code uint32) error {
	if st.cancelRead == nil {
		return ErrState
	}
	st.cancelRead(webtransport.StreamErrorCode(code))
	return nil
}
