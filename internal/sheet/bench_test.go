package sheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"testing"
)

// genFile returns a valid file of n rows in the shape of a real rollout: ids, keys, literal,
// ${NAME} and json: values, permission words and flag columns, a comment now and then.
func genFile(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 80)
	writeFile(&b, n)
	return b.Bytes()
}

// writeFile writes genFile's content to w.
func writeFile(w io.Writer, n int) {
	b := bufio.NewWriter(w)
	defer b.Flush()
	b.WriteString("integration_id,integration_name,option_key,value,permission,comment\n")
	keys := []string{"apiKey", "url", "maxConcurrent", "blocklist", "lookupLevel"}
	for i := range n {
		id := fmt.Sprintf("virustotal_node_18_%d", 1725278818+i/len(keys))
		switch key := keys[i%len(keys)]; key {
		case "apiKey":
			fmt.Fprintf(b, "%s,,%s,${VT_KEY},lock-hide,rotated\n", id, key)
		case "url":
			fmt.Fprintf(b, "%s,,%s,https://www.virustotal.com/api/v3,,\n", id, key)
		case "maxConcurrent":
			fmt.Fprintf(b, "%s,,%s,json:10,lock-show,\n", id, key)
		case "blocklist":
			fmt.Fprintf(b, "%s,VirusTotal,%s,\"a.com;b.com, c.com\",user-provides,\"two\nlines\"\n", id, key)
		default:
			fmt.Fprintf(b, "%s,,%s,,Lock and show option for all users,\n", id, key)
		}
	}
}

func benchEnv(name string) (string, bool) {
	if name == "VT_KEY" {
		return "secret-key", true
	}
	return "", false
}

func BenchmarkRead(b *testing.B) {
	data := genFile(100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rows, ps, err := Read("bench.csv", bytes.NewReader(data), benchEnv)
		if err != nil || len(ps) != 0 || len(rows) != 100_000 {
			b.Fatalf("rows %d, problems %v, err %v", len(rows), ps, err)
		}
	}
}

func BenchmarkBareCSV(b *testing.B) {
	data := genFile(100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(data))
		n := 0
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 100_001 {
			b.Fatal(n)
		}
	}
}
