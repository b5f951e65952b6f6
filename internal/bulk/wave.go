package bulk

import "time"

// WaveStatus is how a wave of a staged rollout (apply --waves) ended.
type WaveStatus string

// The ends of a wave.
const (
	// WavePassed: at most --max-fail-percent of its integrations failed, PATCH and health
	// check counted.
	WavePassed WaveStatus = "passed"
	// WaveFailed: more than --max-fail-percent failed: no later wave started.
	WaveFailed WaveStatus = "failed"
	// WaveInterrupted: Ctrl-C or SIGTERM came while it was sent, checked or paused after.
	WaveInterrupted WaveStatus = "interrupted"
	// WaveStopped: the run stopped before its end for another cause: refused credentials,
	// a journal that could not be written, --max-failures, or a "no" at --wave-pause ask.
	WaveStopped WaveStatus = "stopped"
	// WaveNotStarted: an earlier wave failed or the run stopped before it.
	WaveNotStarted WaveStatus = "not-started"
)

// WaveOutcome is how one wave of a staged rollout went: its integrations in plan order, when
// it ran and how its health check went.
type WaveOutcome struct {
	Number int      // from 1
	IDs    []string // the integrations of the wave
	// Started and Finished bound the wave: from its first PATCH to the end of its health
	// check (a --wave-pause before the check included). Zero when it did not start.
	Started, Finished time.Time
	Status            WaveStatus
	// Failed counts the wave's integrations that failed, by their PATCH or by the health check.
	Failed int
	// Health is the check of each integration of the wave that was applied.
	Health []Health
	// ErrorsKnown says whether the server told which integrations report errors; when it did
	// not (the list filter refused or ignored), the check went by values and status alone.
	ErrorsKnown bool
	// Resumed: the wave had passed in the run that --resume continues; nothing was sent.
	Resumed bool
}

// Health is the health check of one integration after its wave.
type Health struct {
	ID string
	// Problems says why it failed: values that did not land, a stop, new integration errors.
	// Empty: healthy.
	Problems []string
}

// OK reports whether the integration passed.
func (h Health) OK() bool { return len(h.Problems) == 0 }
