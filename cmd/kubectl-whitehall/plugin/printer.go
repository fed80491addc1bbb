package plugin

import (
	"fmt"
	"io"
)

// printer writes to w and keeps the first error, so that a renderer of many lines checks
// once, at the end (the errWriter idiom). After an error it writes nothing more.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
