package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// connections reports, at each scrape, the state of every NATS
// connection the process watches.
type connections struct {
	mu    sync.Mutex
	conns map[string]*nats.Conn

	connected, reconnects *prometheus.Desc
}

var natsConns = &connections{
	conns: map[string]*nats.Conn{},
	connected: prometheus.NewDesc(Namespace+"_nats_connected",
		"1 while the named NATS connection is connected, 0 while it is away (reconnecting or closed).",
		[]string{"connection"}, nil),
	reconnects: prometheus.NewDesc(Namespace+"_nats_reconnects_total",
		"Times the named NATS connection reconnected.",
		[]string{"connection"}, nil),
}

func init() { ownRegisterer{Registry}.MustRegister(natsConns) }

// WatchConnection reports nc's state under name (palisade-api,
// palisade-worker …) from now on; a later connection under the same name
// replaces it.
func WatchConnection(name string, nc *nats.Conn) {
	natsConns.mu.Lock()
	defer natsConns.mu.Unlock()
	natsConns.conns[name] = nc
}

func (c *connections) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.connected
	ch <- c.reconnects
}

func (c *connections) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, nc := range c.conns {
		up := 0.0
		if nc.IsConnected() {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, up, name)
		ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, float64(nc.Stats().Reconnects), name)
	}
}

// ConsumerInfoTimeout bounds the consumer look-ups of one scrape.
const ConsumerInfoTimeout = 2 * time.Second

// consumers reports, at each scrape, the commands waiting on each of a
// stream's consumers (one per partition), read from the consumers' info.
type consumers struct {
	mu     sync.Mutex
	js     jetstream.JetStream // nil: nothing watched
	stream string
	names  []string

	pending, inFlight, up *prometheus.Desc
}

var commandConsumers = &consumers{
	pending: prometheus.NewDesc(Namespace+"_commands_pending",
		"Commands stored and not yet delivered, per consumer (partition).",
		[]string{"consumer"}, nil),
	inFlight: prometheus.NewDesc(Namespace+"_commands_in_flight",
		"Commands delivered and not yet acknowledged, per consumer (partition).",
		[]string{"consumer"}, nil),
	up: prometheus.NewDesc(Namespace+"_commands_consumer_info_up",
		"1 when the last scrape read every consumer's info, 0 when some could not be read (NATS away).",
		nil, nil),
}

func init() { ownRegisterer{Registry}.MustRegister(commandConsumers) }

// WatchConsumers reports, from now on, the pending and in-flight commands
// of the named consumers of stream at every scrape, from the consumers'
// info (one JetStream request per consumer), replacing what was watched
// before. Every worker replica reports the same figures: aggregate them
// with max, not sum.
func WatchConsumers(js jetstream.JetStream, stream string, names []string) {
	commandConsumers.mu.Lock()
	defer commandConsumers.mu.Unlock()
	commandConsumers.js, commandConsumers.stream, commandConsumers.names = js, stream, names
}

func (c *consumers) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.inFlight
	ch <- c.up
}

func (c *consumers) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	js, stream, names := c.js, c.stream, c.names
	c.mu.Unlock()
	if js == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ConsumerInfoTimeout)
	defer cancel()
	up := 1.0
	for _, name := range names {
		cons, err := js.Consumer(ctx, stream, name)
		if err != nil {
			up = 0
			continue
		}
		info := cons.CachedInfo()
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(info.NumPending), name)
		ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(info.NumAckPending), name)
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}
