# bench_crash's worker under Ruby ServerEngine (worker_type process, default
# settings otherwise). Usage: ruby bench/bench_crash_serverengine.rb FILE WORKERS
#
# Each worker writes the monotonic time its run starts into its slot of FILE
# (bench_crash's layout: int64 start_ns, int32 pid, uint32 seq; 16 bytes a
# slot; start and pid first, then seq + 1), then waits until it is stopped.
require 'serverengine'

BENCH_FILE = ARGV.fetch(0)
BENCH_WORKERS = Integer(ARGV.fetch(1))

module BenchWorker
  def initialize
    @stop_flag = ServerEngine::BlockingFlag.new
  end

  def run
    t = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
    off = worker_id * 16
    File.open(BENCH_FILE, 'r+b') do |f|
      seq = f.pread(4, off + 12).unpack1('L<')
      f.pwrite([t, Process.pid].pack('q<l<'), off)
      f.pwrite([seq + 1].pack('L<'), off + 12)
    end
    @stop_flag.wait_for_set
  end

  def stop
    @stop_flag.set!
  end
end

se = ServerEngine.create(nil, BenchWorker,
                         worker_type: 'process', workers: BENCH_WORKERS,
                         log: '/dev/null', log_level: 'warn')
se.run
