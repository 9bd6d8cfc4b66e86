using Herald.Cli;

// `herald`: the gateway and its companion commands. With no command, runs the gateway (`herald serve`).
return await HeraldCommandLine.RunAsync(args);
