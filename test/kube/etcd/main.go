// Command etcd runs one etcd member, embedded from go.etcd.io/etcd/server/v3, for the test API server of the
// kubernetes target's real test: kube-apiserver stores its objects here. Loopback only, plain HTTP, one member.
package main

import (
	"flag"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dir := flag.String("data-dir", "etcd-data", "where the member keeps its data")
	client := flag.String("client-url", "http://127.0.0.1:2379", "where clients (kube-apiserver) reach it")
	peer := flag.String("peer-url", "http://127.0.0.1:2380", "its peer address (a single member has no peers)")
	flag.Parse()

	clientURL, err := url.Parse(*client)
	if err != nil {
		log.Fatalf("--client-url %q: %v", *client, err)
	}
	peerURL, err := url.Parse(*peer)
	if err != nil {
		log.Fatalf("--peer-url %q: %v", *peer, err)
	}
	config := embed.NewConfig()
	config.Dir = *dir
	config.ListenClientUrls, config.AdvertiseClientUrls = []url.URL{*clientURL}, []url.URL{*clientURL}
	config.ListenPeerUrls, config.AdvertisePeerUrls = []url.URL{*peerURL}, []url.URL{*peerURL}
	config.InitialCluster = config.InitialClusterFromName(config.Name)
	config.LogLevel = "warn"

	server, err := embed.StartEtcd(config)
	if err != nil {
		log.Fatalf("etcd did not start: %v", err)
	}
	defer server.Close()
	select {
	case <-server.Server.ReadyNotify():
		log.Printf("etcd ready at %s (data in %s)", clientURL, *dir)
	case <-time.After(60 * time.Second):
		server.Server.Stop()
		log.Fatal("etcd took more than 60 s to be ready")
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-server.Err():
		log.Fatalf("etcd failed: %v", err)
	case <-stop:
	}
}
