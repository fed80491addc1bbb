package controllers

import "unicode/utf8"

// maxConditionMessage is metav1.Condition's bound on a message, in bytes: a longer one
// makes the API server refuse the whole status write, so the object would never show why.
const maxConditionMessage = 32768

// boundedMessage cuts m to fit a condition, on a rune boundary, and says it was cut. A
// message quotes what users wrote (a policy's 64 flavors and 64 images), so it can be long.
func boundedMessage(m string) string {
	if len(m) <= maxConditionMessage {
		return m
	}
	const cutNote = " … (message cut)"
	end := maxConditionMessage - len(cutNote)
	for end > 0 && !utf8.RuneStart(m[end]) {
		end--
	}
	return m[:end] + cutNote
}
