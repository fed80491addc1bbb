package plugin

import (
	"bytes"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// maxMessage bounds the message column of the text tree; -o json has it whole.
const maxMessage = 72

// RenderTree writes lines as a table whose first column draws the tree, as clusterctl
// describe does.
func RenderTree(out io.Writer, lines []*Line) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	p := &printer{w: tw}
	p.printf("NAME\tREADY\tREASON\tDETAIL\tMESSAGE\n")
	for _, l := range lines {
		writeLine(p, l, "", "")
	}
	if p.err != nil {
		return p.err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// tabwriter pads empty last cells; a person's terminal does not need the blanks.
	for _, row := range strings.SplitAfter(buf.String(), "\n") {
		if _, err := io.WriteString(out, strings.TrimRight(row, " \n")+strings.Repeat("\n", strings.Count(row, "\n"))); err != nil {
			return err
		}
	}
	return nil
}

func writeLine(p *printer, l *Line, prefix, childPrefix string) {
	p.printf("%s%s\t%s\t%s\t%s\t%s\n", prefix, label(l), l.Ready, l.Reason, l.Detail, shortMessage(l.Message))
	for i, c := range l.Children {
		branch, indent := "├─ ", "│  "
		if i == len(l.Children)-1 {
			branch, indent = "└─ ", "   "
		}
		writeLine(p, c, childPrefix+branch, childPrefix+indent)
	}
}

func label(l *Line) string {
	if l.Name == "" {
		return l.Kind
	}
	return l.Kind + "/" + l.Name
}

// shortMessage is the message's first line, cut to maxMessage characters.
func shortMessage(m string) string {
	m, _, _ = strings.Cut(m, "\n")
	m = strings.ReplaceAll(m, "\t", " ")
	if utf8.RuneCountInString(m) <= maxMessage {
		return m
	}
	return string([]rune(m)[:maxMessage-1]) + "…"
}
