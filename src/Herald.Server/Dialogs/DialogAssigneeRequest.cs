using System.Text.Json.Serialization;

namespace Herald.Server.Dialogs;

/// <summary>
/// <c>PUT /api/dialogs/{id}/assignee</c>: <c>{"operator_id": 7}</c> assigns, <c>{"operator_id": null}</c> unassigns.
/// The field is required so that an empty or misspelt body is an error, not an unassignment.
/// </summary>
public sealed record DialogAssigneeRequest([property: JsonRequired] long? OperatorId);
