# ports.sh: free loopback ports for the test harnesses (cluster.sh, patroni.sh). Sourced, not run.

# free_port: prints a loopback TCP port nobody listens on and that no earlier call of this run handed out.
used_ports=" "
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((10000 + RANDOM % 22000))  # below the ephemeral range (32768+): no client socket holds it
    case "$used_ports" in *" $port "*) continue ;; esac
    if ! ss -Htan "sport = :$port" 2>/dev/null | grep -q .; then
      used_ports+="$port "
      echo "$port"
      return 0
    fi
  done
  echo "harness: no free loopback port found" >&2
  return 1
}
