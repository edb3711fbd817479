"""Following a phone system live: the AMI client (ami.py); its command is app/commands/listen.py."""
