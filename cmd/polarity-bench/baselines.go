package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
)

// The hidden modes: this binary, re-run as a child, as the baselines.
const (
	modeBareCSV    = "internal-bare-csv"
	modeSequential = "internal-sequential-client"
	modeMeasure    = "internal-measure"
)

// bareCSV reads a CSV file with encoding/csv and nothing else: the floor under validate.
func bareCSV(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: polarity-bench "+modeBareCSV+" FILE")
		return 2
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer f.Close()
	r := csv.NewReader(f)
	n := 0
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		n++
	}
	fmt.Fprintln(stdout, n)
	return 0
}

// sequential is the client of the vendor's documented examples: one PATCH, wait for the
// answer, the next. It sends the request bodies of a file (one JSON document a line), with
// the API key of $POLARITY_API_KEY. With -workers above 1 it is the control for the
// concurrent runs instead: that many goroutines share the bodies, with no rate limit, no
// retries and no report, the fastest a plain Go client gets on this machine.
func sequential(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(modeSequential, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "server base URL")
	bodies := fs.String("bodies", "", "file of PATCH bodies, one a line")
	ca := fs.String("ca-cert", "", "PEM file of the server's certificate")
	workers := fs.Int("workers", 1, "goroutines sending at once")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = *workers // keep one connection per worker
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	hc := &http.Client{Transport: tr}
	data, err := os.ReadFile(*bodies)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	key := os.Getenv("POLARITY_API_KEY")
	patch := func(body []byte) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPatch, *url+"/api/integration-options", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/vnd.api+json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	}
	next := make(chan []byte)
	errs := make(chan error, *workers)
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range next {
				if err := patch(body); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	sent := 0
feed:
	for _, body := range lines {
		select {
		case next <- body:
			sent++
		case err := <-errs:
			errs <- err
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		fmt.Fprintln(stderr, err)
		return 1
	default:
	}
	fmt.Fprintln(stdout, sent)
	return 0
}
