package main

import (
	"context"
	"errors"
	"sync"
)

// component is anything long-running: it works until its context is cancelled and then
// returns, nil on a clean stop.
type component struct {
	name string
	run  func(ctx context.Context) error
}

// runLayers runs components in layers and stops them in order. Layer 0 (the HTTP
// server) stops first when ctx is cancelled or any component fails; layer i+1's context
// is cancelled only after every component of layer i has returned, so the queue stops
// claiming work before the modems close their ports, and the modems are closed before
// the caller closes the database. It returns the first failure.
func runLayers(ctx context.Context, layers [][]component) error {
	root, cancelRoot := context.WithCancel(ctx)
	defer cancelRoot()

	var (
		mu       sync.Mutex
		firstErr error
	)
	fail := func(name string, err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = &componentError{name: name, err: err}
		}
		mu.Unlock()
		cancelRoot()
	}

	ctxs := make([]context.Context, len(layers))
	cancels := make([]context.CancelFunc, len(layers))
	for i := range layers {
		if i == 0 {
			ctxs[i], cancels[i] = context.WithCancel(root)
		} else {
			// Later layers ignore the root: they stop when the layer above is done.
			ctxs[i], cancels[i] = context.WithCancel(context.WithoutCancel(root))
		}
	}
	var all sync.WaitGroup
	for i, layer := range layers {
		var wg sync.WaitGroup
		for _, c := range layer {
			wg.Add(1)
			all.Add(1)
			go func() {
				defer all.Done()
				defer wg.Done()
				err := c.run(ctxs[i])
				if err != nil && !errors.Is(err, context.Canceled) {
					fail(c.name, err)
				} else if ctxs[i].Err() == nil {
					// A component that returns before it was asked to has stopped serving.
					fail(c.name, errStoppedEarly)
				}
			}()
		}
		go func() {
			wg.Wait()
			if i+1 < len(layers) {
				cancels[i+1]()
			}
		}()
	}
	all.Wait()
	for _, c := range cancels {
		c()
	}
	return firstErr
}

var errStoppedEarly = errors.New("stopped without being asked to")

type componentError struct {
	name string
	err  error
}

func (e *componentError) Error() string { return e.name + ": " + e.err.Error() }
func (e *componentError) Unwrap() error { return e.err }
