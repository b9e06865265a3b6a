/** Ten per-namespace keys and two values each: the agent benchmark writes one set, then the other. */
export const KEYS: readonly (readonly [string, string, string])[] = [
  ["net.ipv4.tcp_fin_timeout", "30", "45"],
  ["net.ipv4.tcp_keepalive_time", "600", "900"],
  ["net.ipv4.tcp_keepalive_intvl", "30", "45"],
  ["net.ipv4.tcp_keepalive_probes", "5", "6"],
  ["net.ipv4.tcp_syn_retries", "4", "5"],
  ["net.ipv4.tcp_synack_retries", "3", "4"],
  ["net.ipv4.tcp_tw_reuse", "1", "2"],
  ["net.ipv4.ip_local_port_range", "10240 60999", "20000 60999"],
  ["net.core.somaxconn", "8192", "16384"],
  ["net.ipv4.tcp_max_syn_backlog", "8192", "16384"],
];
