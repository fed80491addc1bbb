package frame

// maxConditionMessage is metav1.Condition's bound on a message, in bytes: a longer one
// makes the API server refuse the whole status write, so the object would never show why.
const maxConditionMessage = 32768

// BoundedMessage cuts m to fit a condition and says it was cut. A message quotes what
// users wrote (a policy's 64 flavors and 64 images), so it can be long.
func BoundedMessage(m string) string { return CutText(m, maxConditionMessage, " … (message cut)") }

// MaxListed bounds how many leftovers a DeletionBlocked message names.
const MaxListed = 5
