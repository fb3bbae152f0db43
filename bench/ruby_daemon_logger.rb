# bench_logger (c): Ruby ServerEngine's DaemonLogger writing 100-byte lines
# to a file with the same rotation settings as the C side (age 5, 1 MiB).
# Prints "<lines> <seconds>" for the logging loop alone (Ruby's start-up and
# require are not counted). Needs the ruby-serverengine package.
#
#   ruby bench/ruby_daemon_logger.rb /tmp/x.log 200000
require 'serverengine'

path = ARGV.fetch(0)
lines = Integer(ARGV.fetch(1))
logger = ServerEngine::DaemonLogger.new(path, log_rotate_age: 5, log_rotate_size: 1_048_576)
header = "I, [2026-11-28T11:20:18.123456 ##{Process.pid}]  INFO -- : "
message = 'x' * (100 - 1 - header.bytesize)
t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
lines.times { logger.info(message) }
elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
logger.close
puts "#{lines} #{elapsed}"
