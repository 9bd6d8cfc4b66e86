using Herald.Server.Cli;

// `herald` — the server and its companion commands. With no command (or `serve`), runs the server.
return await HeraldCommandLine.RunAsync(args);
