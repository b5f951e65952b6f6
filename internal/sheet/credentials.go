package sheet

import (
	"fmt"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// Credential is a secret polarity-bulk authenticates with, and where it comes from
// ("POLARITY_API_KEY", "--api-key-file key.txt").
type Credential struct {
	Source string
	Value  string
}

// credentialVars are the variables that hold the tool's own credentials: a ${NAME} cell
// naming one is refused whatever it holds now.
var credentialVars = map[string]string{
	"POLARITY_API_KEY":  "the API key",
	"POLARITY_PASSWORD": "the password",
}

// CheckCredentials refuses, as a problem on its line, every ${NAME} cell that would write
// one of the tool's own credentials into an option, where every user who can see the
// integration could read it: a cell naming POLARITY_API_KEY or POLARITY_PASSWORD, and a
// cell whose variable holds the same string as one of creds. The problem names the variable
// and where the credential comes from, never the value.
func CheckCredentials(file string, rows []bulk.Row, creds []Credential) bulk.Problems {
	var probs bulk.Problems
	for _, r := range rows {
		name := r.Value.Env
		if name == "" {
			continue
		}
		msg := ""
		if what, ok := credentialVars[name]; ok {
			msg = fmt.Sprintf("${%s} is %s polarity-bulk authenticates with", name, what)
		} else {
			for _, c := range creds {
				if c.Value != "" && r.Value.Text == c.Value {
					msg = fmt.Sprintf("${%s} holds the same value as %s, the credential polarity-bulk authenticates with", name, c.Source)
					break
				}
			}
		}
		if msg == "" {
			continue
		}
		probs = append(probs, bulk.Problem{File: file, Line: r.Line, Column: "value",
			Msg: msg + ": refusing to write the tool's own credential into an option, where users of the integration could read it; give the integration a key of its own in another variable"})
	}
	return probs
}
