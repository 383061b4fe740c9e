// bench_engine_ns3.cc - the ns-3 twin of bench-engine.
//
// Runs the same workload as tools/bench_engine.c, written the way the ns-3
// tutorial (examples/tutorial/first.cc, second.cc) would write it, so that
// tools/bench-compare.sh can put our engine's figures next to ns-3's:
//
//   client --(1 Gbit/s, 1 ms)--> router --(1 Gbit/s, 1 ms)--> server
//
// N UDP datagrams of 512 bytes of payload, one every 10 us, from a UdpClient
// on the client to a UdpServer on the server; IPv4 with global routing.
// With --pcap DIR, PointToPointHelper::EnablePcapAll captures every
// transmission at both ends of each link (4 pcap files in DIR).
//
// Usage: bench-engine-ns3 --packets N [--pcap DIR]
//
// Output: key=value lines (engine, packets_sent, packets_delivered,
// sim_time_s, wall_s, packets_per_s, events, events_per_s, pcap_bytes,
// peak_rss_kb). wall_s is the wall time of Simulator::Run() alone, on
// CLOCK_MONOTONIC; building the topology and writing the output are not
// timed.
//
// The neighbour (ARP) caches are filled before the run with
// NeighborCacheHelper: otherwise the first ~200 datagrams, sent while the
// client's and the router's ARP requests are in flight (2 ms round trip at
// one datagram every 10 us), overflow ArpCache's 3-packet pending queue and
// are dropped, and the run would measure ARP start-up rather than forwarding.

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/version-defines.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include <sys/resource.h>
#include <time.h>

using namespace ns3;

namespace
{

constexpr uint32_t kPayloadBytes = 512;
constexpr uint16_t kPort = 9;
const char* const kPcapPrefix = "bench-engine-ns3";

void
Usage(FILE* out, const char* argv0)
{
    std::fprintf(out, "usage: %s --packets N [--pcap DIR]\n", argv0);
}

double
MonotonicSeconds()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Total size of the pcap files this program wrote into dir.
uint64_t
PcapBytes(const std::string& dir)
{
    namespace fs = std::filesystem;
    uint64_t total = 0;
    std::error_code ec;
    const std::string prefix = std::string(kPcapPrefix) + "-";
    for (const auto& entry : fs::directory_iterator(dir, ec))
    {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0 || entry.path().extension() != ".pcap")
        {
            continue;
        }
        std::error_code sec;
        const auto size = fs::file_size(entry.path(), sec);
        if (!sec)
        {
            total += size;
        }
    }
    return total;
}

struct RunResult
{
    uint64_t sent;
    uint64_t delivered;
    uint64_t events;
    double simTime; // seconds of simulated time
    double wall;    // seconds of wall time spent in Simulator::Run()
};

// Builds the topology, runs the simulation and destroys it. Everything ns-3
// is local to this function, so it is all released when it returns.
RunResult
RunWorkload(uint64_t packets, const std::string& pcapDir)
{
    // Topology: node 0 = client, node 1 = router, node 2 = server.
    NodeContainer nodes;
    nodes.Create(3);
    NodeContainer left(nodes.Get(0), nodes.Get(1));
    NodeContainer right(nodes.Get(1), nodes.Get(2));

    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", StringValue("1Gbps"));
    p2p.SetChannelAttribute("Delay", StringValue("1ms"));
    NetDeviceContainer leftDevs = p2p.Install(left);
    NetDeviceContainer rightDevs = p2p.Install(right);

    InternetStackHelper stack;
    stack.Install(nodes);

    Ipv4AddressHelper address;
    address.SetBase("10.1.1.0", "255.255.255.0");
    Ipv4InterfaceContainer leftIfs = address.Assign(leftDevs);
    address.SetBase("10.1.2.0", "255.255.255.0");
    Ipv4InterfaceContainer rightIfs = address.Assign(rightDevs);

    Ipv4GlobalRoutingHelper::PopulateRoutingTables();

    NeighborCacheHelper neighbors;
    neighbors.PopulateNeighborCache();

    UdpServerHelper serverHelper(kPort);
    ApplicationContainer serverApps = serverHelper.Install(nodes.Get(2));
    serverApps.Start(Seconds(0.0));

    // UdpClient's PacketSize is the UDP payload, its 12-byte sequence number
    // and timestamp header included.
    UdpClientHelper clientHelper(rightIfs.GetAddress(1), kPort);
    clientHelper.SetAttribute("MaxPackets", UintegerValue(static_cast<uint32_t>(packets)));
    clientHelper.SetAttribute("Interval", TimeValue(MicroSeconds(10)));
    clientHelper.SetAttribute("PacketSize", UintegerValue(kPayloadBytes));
    ApplicationContainer clientApps = clientHelper.Install(nodes.Get(0));
    clientApps.Start(Seconds(0.0));

    if (!pcapDir.empty())
    {
        p2p.EnablePcapAll(pcapDir + "/" + kPcapPrefix);
    }

    // No Simulator::Stop: the applications schedule nothing after the last
    // datagram, so Run() returns when the last one has been delivered and
    // Now() is then the simulated time the workload took.
    const double t0 = MonotonicSeconds();
    Simulator::Run();
    const double wall = MonotonicSeconds() - t0;

    const double simTime = Simulator::Now().GetSeconds();
    const uint64_t events = Simulator::GetEventCount();
    Ptr<UdpClient> client = DynamicCast<UdpClient>(clientApps.Get(0));
    Ptr<UdpServer> server = DynamicCast<UdpServer>(serverApps.Get(0));
    const uint64_t sent = client->GetTotalTx() / kPayloadBytes;
    const uint64_t delivered = server->GetReceived();

    Simulator::Destroy();
    return RunResult{sent, delivered, events, simTime, wall};
}

} // namespace

int
main(int argc, char* argv[])
{
    uint64_t packets = 0;
    bool havePackets = false;
    std::string pcapDir;

    for (int i = 1; i < argc; i++)
    {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h")
        {
            Usage(stdout, argv[0]);
            return 0;
        }
        if ((arg == "--packets" || arg == "--pcap") && i + 1 >= argc)
        {
            std::fprintf(stderr, "%s: %s needs a value\n", argv[0], arg.c_str());
            Usage(stderr, argv[0]);
            return 2;
        }
        if (arg == "--packets")
        {
            const char* v = argv[++i];
            char* end = nullptr;
            errno = 0;
            unsigned long long n = std::strtoull(v, &end, 10);
            // UdpClient's MaxPackets is a uint32_t.
            if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n == 0 ||
                n > UINT32_MAX)
            {
                std::fprintf(stderr, "%s: --packets wants an integer in 1..%" PRIu32 ", not '%s'\n",
                             argv[0], UINT32_MAX, v);
                return 2;
            }
            packets = n;
            havePackets = true;
        }
        else if (arg == "--pcap")
        {
            pcapDir = argv[++i];
            if (pcapDir.empty())
            {
                std::fprintf(stderr, "%s: --pcap wants a directory\n", argv[0]);
                return 2;
            }
        }
        else
        {
            std::fprintf(stderr, "%s: unknown argument '%s'\n", argv[0], arg.c_str());
            Usage(stderr, argv[0]);
            return 2;
        }
    }
    if (!havePackets)
    {
        std::fprintf(stderr, "%s: --packets N is required\n", argv[0]);
        Usage(stderr, argv[0]);
        return 2;
    }
    if (!pcapDir.empty())
    {
        std::error_code ec;
        if (!std::filesystem::is_directory(pcapDir, ec))
        {
            std::fprintf(stderr, "%s: --pcap %s: not a directory\n", argv[0], pcapDir.c_str());
            return 2;
        }
    }

    const RunResult r = RunWorkload(packets, pcapDir);
    // Every ns-3 object is gone now, and with them the ofstreams of the pcap
    // files (the devices' trace callbacks held them open), so the files are
    // closed and their sizes final.
    const uint64_t pcapBytes = pcapDir.empty() ? 0 : PcapBytes(pcapDir);

    struct rusage ru;
    std::memset(&ru, 0, sizeof ru);
    getrusage(RUSAGE_SELF, &ru);

    if (NS3_VERSION_PATCH != 0)
    {
        std::printf("engine=ns-%d.%d.%d\n", NS3_VERSION_MAJOR, NS3_VERSION_MINOR,
                    NS3_VERSION_PATCH);
    }
    else
    {
        std::printf("engine=ns-%d.%d\n", NS3_VERSION_MAJOR, NS3_VERSION_MINOR);
    }
    std::printf("packets_sent=%" PRIu64 "\n", r.sent);
    std::printf("packets_delivered=%" PRIu64 "\n", r.delivered);
    std::printf("sim_time_s=%.6f\n", r.simTime);
    std::printf("wall_s=%.6f\n", r.wall);
    std::printf("packets_per_s=%.0f\n", r.wall > 0 ? static_cast<double>(r.delivered) / r.wall : 0.0);
    std::printf("events=%" PRIu64 "\n", r.events);
    std::printf("events_per_s=%.0f\n", r.wall > 0 ? static_cast<double>(r.events) / r.wall : 0.0);
    std::printf("pcap_bytes=%" PRIu64 "\n", pcapBytes);
    std::printf("peak_rss_kb=%ld\n", ru.ru_maxrss);
    if (r.delivered != r.sent)
    {
        std::fprintf(stderr,
                     "%s: warning: %" PRIu64 " of %" PRIu64 " datagrams were not delivered\n",
                     argv[0], r.sent - r.delivered, r.sent);
    }
    return 0;
}
