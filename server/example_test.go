package server_test

import (
	"fmt"
	"io"
	"log"
	"net/http"

	"github.com/zig-h3/h3bun/client"
	"github.com/zig-h3/h3bun/server"
)

// A server with one route, reached with the client package.
func Example() {
	s, err := server.NewServer(server.Config{BindAddr: "127.0.0.1"}) // ephemeral port, development certificate
	if err != nil {
		log.Fatal(err)
	}
	_ = s.HandleFunc("GET", "/hello/:name", func(req *server.Request, res *server.Response) {
		_ = res.Respond(200, []server.HeaderField{{Name: "content-type", Value: "text/plain"}},
			[]byte("hello "+req.Params[0].Value), true)
	})
	if err := s.Start(); err != nil {
		log.Fatal(err)
	}
	defer s.Stop(false)

	c := &http.Client{Transport: &client.Transport{Config: &client.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/hello/go", s.Port()))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body))
	// Output: 200 OK hello go
}
