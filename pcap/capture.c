/* placeholder until the capture writer lands */
typedef int vnetsim_pcap_placeholder;
