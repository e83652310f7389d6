using System.Text.Json;
using System.Text.Json.Serialization;
using CacheFlow.Api.CacheAdmin;
using CacheFlow.Api.Users;
using CacheFlow.Api.WriteBehind;

namespace CacheFlow.Api.Http;

/// <summary>The API's JSON contract (snake_case), source-generated. The cache serializes with it too, so a cached
/// value is the response body.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(User))]
[JsonSerializable(typeof(UsersPage))]
[JsonSerializable(typeof(CreateUserRequest))]
[JsonSerializable(typeof(UpdateUserRequest))]
[JsonSerializable(typeof(CacheStatsResponse))]
[JsonSerializable(typeof(AcceptedWrite))]
[JsonSerializable(typeof(WriteStatusResponse))]
[JsonSerializable(typeof(LoginRecorded))]
[JsonSerializable(typeof(List<User>))]
[JsonSerializable(typeof(Counted))]
[JsonSerializable(typeof(long))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
