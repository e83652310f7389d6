using System.Globalization;
using System.Text.Json.Nodes;
using CacheFlow.Api.Users;
using CacheFlow.Api.WriteBehind;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace CacheFlow.Api.Http;

internal static partial class OpenApiContract
{
    // The field rules of UserValidation, as JSON Schema.

    /// <summary>The ranges of query parameters, by operation id and name.</summary>
    private static readonly Dictionary<(string Operation, string Parameter), (int Minimum, int Maximum)> Ranges = new()
    {
        [("listUsers", "page")] = (1, int.MaxValue),
        [("listUsers", "limit")] = (1, 100),
        [("topUsers", "limit")] = (1, 100),
        [("deadLetters", "limit")] = (1, 1000),
    };

    private static void ConstrainParameters(OpenApiOperation operation, string id)
    {
        foreach (var parameter in operation.Parameters ?? [])
        {
            if (parameter.Schema is not OpenApiSchema schema)
                continue;
            if (parameter.In == ParameterLocation.Path && parameter.Name == "id")
            {
                schema.Minimum = "1";
                schema.Maximum = long.MaxValue.ToString(CultureInfo.InvariantCulture);
                schema.Description = $"A user id: {UserIds.Expected}.";
            }
            else if (parameter.In == ParameterLocation.Path && parameter.Name == "requestId")
            {
                schema.Pattern = WriteRequestIds.Pattern;
                schema.Description = "A queued write's id, as the 202 of POST /users/async gave it.";
                schema.Examples = [JsonValue.Create("019ad3c4e5f67a8b9c0d1e2f3a4b5c6d")];
            }
            else if (parameter.In == ParameterLocation.Query && Ranges.TryGetValue((id, parameter.Name!), out var range))
            {
                schema.Minimum = range.Minimum.ToString(CultureInfo.InvariantCulture);
                schema.Maximum = range.Maximum.ToString(CultureInfo.InvariantCulture);
            }
        }
    }

    /// <summary>
    /// Request bodies with the server's rules: create needs username and email, a change at least one of the three;
    /// no other field (names are case-sensitive), none null, none twice (which JSON Schema cannot say, so the
    /// description does).
    /// </summary>
    private static Task TransformSchema(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        // Numbers are written as numbers; the "or a numeric string" the Web defaults add (they read one) is not the contract.
        if (schema.Type is { } numeric && (numeric & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0 && numeric.HasFlag(JsonSchemaType.String))
        {
            schema.Type = numeric & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        var type = context.JsonTypeInfo.Type;
        if (type != typeof(CreateUserRequest) && type != typeof(UpdateUserRequest))
            return Task.CompletedTask;
        var create = type == typeof(CreateUserRequest);
        schema.Required = create ? new HashSet<string> { "username", "email" } : new HashSet<string>();
        schema.AnyOf = create ? null : [.. new[] { "username", "email", "is_active" }.Select(f => new OpenApiSchema { Required = new HashSet<string> { f } })];
        schema.AdditionalPropertiesAllowed = false;
        schema.AdditionalProperties = null;
        schema.Description = (create ? "username and email are required; is_active defaults to true. " : "Any of the three fields, at least one. ")
            + "No other field (names are case-sensitive), none null and none given twice.";
        foreach (var (name, property) in schema.Properties ?? new Dictionary<string, IOpenApiSchema>())
        {
            if (property is not OpenApiSchema field)
                continue;
            switch (name)
            {
                case "username":
                    field.Type = JsonSchemaType.String;
                    (field.MinLength, field.MaxLength, field.Pattern) = (UserValidation.MinUsernameLength, UserValidation.MaxUsernameLength, UserValidation.UsernamePattern);
                    field.Description = UserValidation.UsernameRule + " Unique whatever its case; stored as given.";
                    field.Examples = [JsonValue.Create("ada.lovelace")];
                    break;
                case "email":
                    field.Type = JsonSchemaType.String;
                    (field.MaxLength, field.Pattern) = (UserValidation.MaxEmailLength, UserValidation.EmailPattern);
                    field.Description = UserValidation.EmailRuleInFull;
                    field.Examples = [JsonValue.Create("ada@example.com"), JsonValue.Create("jörg@bücher.de")];
                    break;
                case "is_active":
                    field.Type = JsonSchemaType.Boolean;
                    field.Default = create ? JsonValue.Create(true) : null;
                    break;
            }
        }

        return Task.CompletedTask;
    }
}
