"""End-to-end tests against the sandbox box: real sshd, dnsmasq, sudo, git and iptables."""
