// The client-go baseline of bench/kube_create.sh: does exactly what
// bench/kube_create.cc does through ctask's client. Creates -objects
// ConfigMaps (the same names and data) in -namespace from -concurrency
// goroutines through one typed clientset built from $KUBECONFIG, with the
// client-side rate limit off, and prints the same one line:
//
//	kube_create impl=client-go objects=2000 concurrency=4 seconds=6.123 objects_per_s=326.6
//
// The namespace must exist. On the first failed create every goroutine
// stops, the error is printed and the exit status is 1.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	ns := flag.String("namespace", "", "an existing namespace to create the ConfigMaps in (required)")
	objects := flag.Int("objects", 2000, "ConfigMaps to create, named P-00000, P-00001, ...")
	concurrency := flag.Int("concurrency", 4, "goroutines, each creating one object at a time")
	prefix := flag.String("prefix", "bench", "name prefix")
	flag.Parse()
	if *ns == "" || *objects < 1 || *concurrency < 1 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "bench-clientgo: want -namespace NS, -objects >= 1, -concurrency >= 1 and no arguments")
		flag.Usage()
		os.Exit(2)
	}

	// $KUBECONFIG, else ~/.kube/config, as kubectl loads it.
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{})
	config, err := loader.ClientConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-clientgo:", err)
		os.Exit(1)
	}
	// A negative QPS disables client-go's token bucket (rest.Config: a rate
	// limiter is made only for qps > 0; 0 would mean the default, 5).
	config.QPS = -1
	config.UserAgent = "ctask-bench-clientgo"
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-clientgo:", err)
		os.Exit(1)
	}
	configMaps := clientset.CoreV1().ConfigMaps(*ns)

	// Built before the clock starts, as kube_create.cc builds its objects.
	items := make([]*corev1.ConfigMap, *objects)
	for i := range items {
		items[i] = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%05d", *prefix, i)},
			Data:       map[string]string{"index": fmt.Sprint(i), "payload": "ctask bench object"},
		}
	}

	var next atomic.Int64
	var failed atomic.Bool
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	ctx := context.Background()
	start := time.Now()
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(items) {
					return
				}
				if _, err := configMaps.Create(ctx, items[i], metav1.CreateOptions{}); err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("create configmap %q in namespace %q: %w", items[i].Name, *ns, err) })
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	seconds := time.Since(start).Seconds()
	if failed.Load() {
		fmt.Fprintln(os.Stderr, "bench-clientgo:", firstErr)
		os.Exit(1)
	}
	fmt.Printf("kube_create impl=client-go objects=%d concurrency=%d seconds=%.3f objects_per_s=%.1f\n",
		*objects, *concurrency, seconds, float64(*objects)/seconds)
}
