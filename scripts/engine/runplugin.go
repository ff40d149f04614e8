package main

// Added by Cellplane's bootstrap to the v3.68.0 Node.js language host, whose RunPlugin only answered
// "not supported". Newer CLIs start a Node.js policy pack by asking the language host of its runtime to run it
// (RunPlugin, with the engine's address as argument) and read the port the pack prints on stdout.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/encoding/protowire"
)

func (host *nodeLanguageHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	dir := programDirectory(req)
	if dir == "" {
		return errors.New("RunPlugin: the request names no program directory")
	}
	// The pack's own @pulumi/pulumi runs it, as the pulumi-analyzer-policy launcher does.
	resolve := exec.Command("node", "-e", "console.log(require.resolve('@pulumi/pulumi/cmd/run-policy-pack'))")
	resolve.Dir = dir
	script, err := resolve.Output()
	if err != nil {
		return fmt.Errorf("finding @pulumi/pulumi/cmd/run-policy-pack from %s: %w", dir, err)
	}
	args := append([]string{strings.TrimSpace(string(script))}, req.GetArgs()...)
	cmd := exec.Command("node", append(args, dir)...)
	// PolicyPack reads its version from the package.json of the working directory.
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), req.GetEnv()...)

	var sending sync.Mutex
	send := func(response *pulumirpc.RunPluginResponse) error {
		sending.Lock()
		defer sending.Unlock()
		return server.Send(response)
	}
	cmd.Stdout = writerFunc(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: append([]byte(nil), b...)}})
	})
	cmd.Stderr = writerFunc(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: append([]byte(nil), b...)}})
	})

	code := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return err
		}
		code = exit.ExitCode()
	}
	return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

type writerFunc func([]byte) error

func (w writerFunc) Write(b []byte) (int, error) {
	if err := w(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// programDirectory is the plugin's folder. Newer CLIs send it as info.program_directory (fields 5 and 2), which
// this host's protocol predates, so it arrives among the request's unknown fields.
func programDirectory(req *pulumirpc.RunPluginRequest) string {
	if req.GetProgram() != "" {
		return req.GetProgram()
	}
	info, ok := bytesField(req.ProtoReflect().GetUnknown(), 5)
	if !ok {
		return ""
	}
	dir, _ := bytesField(info, 2)
	return string(dir)
}

// bytesField finds a length-delimited field in an encoded message.
func bytesField(message []byte, field protowire.Number) ([]byte, bool) {
	for len(message) > 0 {
		number, kind, n := protowire.ConsumeTag(message)
		if n < 0 {
			return nil, false
		}
		message = message[n:]
		if kind == protowire.BytesType {
			value, m := protowire.ConsumeBytes(message)
			if m < 0 {
				return nil, false
			}
			if number == field {
				return value, true
			}
			message = message[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(number, kind, message)
		if m < 0 {
			return nil, false
		}
		message = message[m:]
	}
	return nil, false
}
