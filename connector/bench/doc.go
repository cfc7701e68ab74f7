// Package bench measures the connector under load: it is `connector
// bench`, the command operators use to size a deployment.
//
// # The model
//
// One run, in one process plus the connector's own processes:
//
//  1. The Salesforce stand-in (sfclient/standin) runs in-process on a
//     loopback port, every data call delayed by Options.Latency. In front
//     of it, a share Options.FaultRate of the /services/data calls is
//     answered 503 SERVER_UNAVAILABLE (after the same delay) instead of
//     reaching it. In front of that, a meter counts every data call and
//     learns which records each call wrote (the stand-in reports them, the
//     records reading the call's request and answer would give):
//     sObject Collections upserts (PATCH .../composite/sobjects/{object}/{field})
//     and Composite requests (POST .../composite) whose subrequests are such
//     upserts, record by record (a failed record, or a subrequest that
//     failed as a whole, wrote nothing). Message records are recognised by
//     the mapping's message object and external id field (by default
//     Chat_Message__c and Message_Key__c = "bench:whatsapp:<message id>").
//     A record counts as written at the midpoint of the call that wrote
//     it: halfway between the request's arrival at the meter and the end of
//     the answer.
//  2. A configuration is written into a temporary folder: one tenant
//     ("bench") with one WhatsApp channel ("whatsapp") on the stand-in's
//     org, log level warn, the store in the folder (SQLite) or in a fresh
//     PostgreSQL database created on the server of Options.DSN and dropped
//     at the end, plus the Options.Set keys.
//  3. `connector serve` runs as Options.Replicas child processes of the
//     given executable (by default the running one), each on its own
//     loopback port, their output in connector-N.log in the folder. The
//     load starts once every /readyz answers 200.
//  4. Options.Concurrency senders post Options.Messages text messages, from
//     Options.Contacts distinct contacts in turn, in signed WhatsApp Cloud
//     API deliveries of Options.PerDelivery messages each (default one; a
//     delivery of several carries as many consecutive contacts' messages,
//     as a Meta app may batch them), over real HTTP, to the replicas in turn,
//     at Options.Rate deliveries a second (0: as fast as they can). A
//     delivery is accepted when it is answered 2xx; anything else (another
//     status, a connection error) is an error and is not retried.
//  5. Before that, and again once the connectors have stopped, the same
//     generator sends the same number of deliveries at the same
//     concurrency and rate to a no-op handler (it reads the body and
//     answers 200) in the same process, for comparison: the machine's
//     speed drifts over a run, and the two runs bracket the connector's.
//  6. After the last answer, the bench waits until every accepted
//     message's record was written (or Options.DrainTimeout), stops the
//     connectors with SIGTERM and reads the stand-in's records.
//
// With Options.KillAfter, the first replica's process is SIGKILLed that
// long after the load starts and restarted at once, on the same store and
// port; deliveries sent to it meanwhile fail and count as errors.
//
// # The figures
//
//   - accepted deliveries/s: accepted deliveries divided by the time from
//     the first send to the last answer. no-op handler deliveries/s: the
//     same for the no-op handler, the mean of its runs before and after
//     the connector's (each shown too); the ratio is the first divided by
//     the second (meaningful when -rate is 0).
//   - Salesforce calls: every /services/data call the connectors made,
//     failed ones (not 2xx, injected faults included, and calls
//     the client gave up on) too; per 1,000
//     messages: calls × 1000 / accepted messages (the messages of the
//     accepted deliveries).
//   - records written per message: records of every object written
//     successfully (conversations and messages, rewrites included) divided
//     by the accepted messages.
//   - messages in Salesforce: accepted messages whose record is in the
//     stand-in at the end; lost: accepted ones whose record is not (the run
//     then fails with ErrLost). Upserts never duplicate a record, so
//     duplicates are shown as message records created (a message whose
//     delivery failed after its commit is created too) and rewritten
//     (written again after its first write, for example after a kill).
//   - webhook → record p50, p99, max: for each accepted message, from just
//     before its delivery was sent to its record's first write (nearest-rank
//     percentiles).
//   - drain after the last acknowledgement: from the last answer to the
//     last first write of an accepted message's record (0 when that came
//     earlier).
//   - peak RSS: VmHWM of /proc/PID/status of each connector process,
//     sampled every second and just before it is stopped or killed (Linux
//     only), and the largest.
//   - connector CPU per 1,000 deliveries: the user and system CPU time of
//     the connector processes over the whole run (from the kernel once a
//     process has exited, from /proc/PID/stat for one that was killed),
//     per 1,000 accepted deliveries. Unlike the rates it holds on a busy
//     machine, so it compares two builds where the rates cannot.
//   - bench's own CPU per 1,000 deliveries: the CPU time of the bench
//     process itself (load generator, Salesforce stand-in, meter) from
//     the first delivery to the end of the drain; on one machine it
//     competes with the connector for the same cores.
//     To take less of them, the bench process runs with a GC percent of
//     400 (or its GOGC, when higher or off) for the run, and restores
//     it afterwards: it collects less often, for a larger heap (up to
//     about five times its live data, the stand-in's records and the
//     meter's first writes, instead of twice). The connector processes
//     keep their own GC settings.
//   - no-op runs' CPU per 1,000 deliveries: the CPU time of the bench
//     process during the two no-op runs (load generator and no-op
//     handler), per 1,000 deliveries the no-op handler accepted.
//     connector / no-op, by CPU: that divided by the sum of the two
//     figures above, the machine's CPU a delivery costs with the
//     connector (its pushing included). It equals the rates' ratio when
//     both runs keep every core busy: where it is higher, the connector's
//     run left cores idle.
//   - group commits: read, after the drain, from the /metrics of the
//     connector processes then running, and of a killed process just
//     before the kill (the groups of its last moment are missed; the
//     bench's configuration gives them an operator token): ingestion's
//     group transactions, the mean deliveries each held, and the lock
//     waits, deliveries that waited too long for a row in their group
//     (another replica's group, a settlement) and ran again alone.
//   - after a kill, pushing resumed: among the messages the killed
//     process had acknowledged whose record was not written when it was
//     killed ("waiting"), the first record written, counted from the
//     restarted process's readiness; and the last of them ("all of them
//     written"). With several replicas another replica may write them
//     first, and the figures are then negative.
package bench
