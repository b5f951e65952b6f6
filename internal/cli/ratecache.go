package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

// The learned pace of each server (--rate auto), kept between runs in the user's cache
// directory: what os.UserCacheDir names, under polarity-bulk/. The file is keyed by the
// server's origin (scheme, host and port) and holds nothing else about it: no path, no
// query, no credential, nothing from the CSV.
const (
	rateCacheDir  = "polarity-bulk"
	rateCacheName = "rates.json"
	// rateCacheFormat is the file's version; a file of another version is ignored (and
	// replaced on the next write).
	rateCacheFormat = 1
	// rateCacheMax bounds the servers kept; the least recently updated go first.
	rateCacheMax = 100
)

// learnedRate is what --rate auto learned about one server.
type learnedRate struct {
	// Rate is requests per second: the server's limit when Limit, else the highest rate
	// it was seen to accept.
	Rate    float64   `json:"rate"`
	Limit   bool      `json:"limit"`
	Updated time.Time `json:"updated"`
}

type rateCacheFile struct {
	Format  int                    `json:"format"`
	Servers map[string]learnedRate `json:"servers"`
}

// userCacheDir is os.UserCacheDir with the environment of stdio, so that tests (and a
// user's XDG_CACHE_HOME) decide where the cache goes.
func userCacheDir(getenv func(string) string) (string, error) {
	var dir string
	switch runtime.GOOS {
	case "windows":
		dir = getenv("LocalAppData")
	case "darwin", "ios":
		if home := getenv("HOME"); home != "" {
			dir = filepath.Join(home, "Library", "Caches")
		}
	case "plan9":
		if home := getenv("home"); home != "" {
			dir = filepath.Join(home, "lib", "cache")
		}
	default:
		dir = getenv("XDG_CACHE_HOME")
		if dir == "" || !filepath.IsAbs(dir) {
			dir = ""
			if home := getenv("HOME"); home != "" {
				dir = filepath.Join(home, ".cache")
			}
		}
	}
	if dir == "" || !filepath.IsAbs(dir) {
		return "", errors.New("no user cache directory (HOME is not set)")
	}
	return filepath.Join(dir, rateCacheDir), nil
}

// origin is the key of a server in the cache: scheme://host[:port], lower case, without the
// default port, and nothing else of the URL (a path prefix, user info) ever.
func origin(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("no origin in the server url")
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

func readRateCache(dir string) rateCacheFile {
	f := rateCacheFile{Format: rateCacheFormat, Servers: map[string]learnedRate{}}
	b, err := readFileLimited(filepath.Join(dir, rateCacheName), 1<<20)
	if err != nil {
		return f
	}
	var got rateCacheFile
	if json.Unmarshal(b, &got) != nil || got.Format != rateCacheFormat {
		return f
	}
	for k, v := range got.Servers {
		if v.Rate > 0 && v.Rate < 1e6 {
			f.Servers[k] = v
		}
	}
	return f
}

// loadLearned returns what an earlier run learned about the server at serverURL; false when
// nothing (or the cache cannot be read: a run never fails over its cache).
func loadLearned(dir, serverURL string) (learnedRate, bool) {
	key, err := origin(serverURL)
	if err != nil {
		return learnedRate{}, false
	}
	l, ok := readRateCache(dir).Servers[key]
	return l, ok
}

// saveLearned records what this run learned about the server, keeping the other servers'.
func saveLearned(dir, serverURL string, l learnedRate) error {
	key, err := origin(serverURL)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f := readRateCache(dir)
	f.Servers[key] = l
	if len(f.Servers) > rateCacheMax {
		keys := slices.SortedFunc(maps.Keys(f.Servers), func(a, b string) int {
			return f.Servers[a].Updated.Compare(f.Servers[b].Updated)
		})
		for _, k := range keys[:len(keys)-rateCacheMax] {
			delete(f.Servers, k)
		}
	}
	return report.WriteFile(filepath.Join(dir, rateCacheName), 0o600, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(f)
	})
}
