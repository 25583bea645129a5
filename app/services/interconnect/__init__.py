"""The interconnect (CAFRI): units that search each other's repositories over mutual TLS.
``trust`` (keys, certificates, who a connection is), ``peers`` (the peers, their status and
rate), ``wire`` (what crosses, checked field by field), ``client`` (calls with a bounded wait),
``answering`` (this unit answering a peer), ``peer_search`` (this unit asking its peers: the
merged list, the reveal, seals brought home)."""
